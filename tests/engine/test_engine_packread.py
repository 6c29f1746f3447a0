"""The fast pack path reads exactly what git reads, deltas and all."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlvc_tui.engine import Registry
from tests.support.gitrepo import GitRepo


def test_every_object_of_a_deltified_pack_matches_git(tmp_path: Path) -> None:
    r = GitRepo(tmp_path / "reg")
    body = "".join(f"line {i}: {'x' * (i % 7)}\n" for i in range(400))
    for n in range(25):
        body = body.replace(f"line {n * 3}:", f"line {n * 3} v{n}:")
        r.commit(
            f"c{n}",
            {
                "models/model.txt": body,
                f"logs/{n % 4}.log": body[: 50 * n + 10],
                "metrics/model.json": {"accuracy": n / 100},
            },
        )
    r.git("repack", "-adfq", "--depth=50", "--window=50")
    listing = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch-check"],
        cwd=r.path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    objects = [line.split() for line in listing if line]
    assert len(objects) > 100
    bases = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch-check=%(deltabase)"],
        cwd=r.path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert sum(b != "0" * 40 for b in bases) > 30  # the pack really holds delta chains
    with Registry.open(r.path) as reg:
        for sha, kind, size in objects:
            assert reg.objects.size(sha) == int(size), sha
            if kind in ("blob", "tree"):
                expected = subprocess.run(
                    ["git", "cat-file", kind, sha], cwd=r.path, check=True, capture_output=True
                ).stdout
                assert reg.objects.raw(sha) == expected, sha
