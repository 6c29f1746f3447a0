"""Packed blobs stream in bounded memory, delta chains included (issue 11.10).

The RSS test reads a 1 GB blob that `git repack` stored in a pack, in a fresh process, and
reads its peak resident size from ``resource.getrusage`` (the whole process, imports
included); the path the old code took inflated the whole blob in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mlvc_tui.engine import Registry
from mlvc_tui.engine.git.blobio import open_blob
from tests.support.gitrepo import GitRepo

READ = """
import json, resource, sys
from mlvc_tui.engine import Registry
from mlvc_tui.engine.git.blobio import open_blob
with Registry.open(sys.argv[1]) as reg:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {}
    for blob in sys.argv[2:]:
        n = 0
        with open_blob(reg, blob) as fh:  # checks the blob's id as it reads
            while chunk := fh.read(1 << 20):
                n += len(chunk)
        out[blob] = n
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_mb": base / 1024, "peak_mb": peak / 1024, "sizes": out}))
"""


def _versions(r: GitRepo, size: int, count: int) -> list[bytes]:
    rng = random.Random(11)
    data = bytearray(rng.randbytes(size))
    out = []
    for i in range(count):
        at = rng.randrange(size - 100)
        data[at : at + 50] = rng.randbytes(50)
        data += f"version {i}\n".encode()
        out.append(bytes(data))
        r.commit(f"v{i}", {"models/model.bin": bytes(data)})
    return out


def _deltified(r: GitRepo) -> dict[str, int]:
    """blob id -> delta depth, from git verify-pack."""
    pack = next((r.path / ".git/objects/pack").glob("*.idx"))
    depths = {}
    for line in r.git("verify-pack", "-v", str(pack)).splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[1] == "blob":
            depths[parts[0]] = int(parts[5]) if len(parts) >= 7 else 0
    return depths


def test_delta_chains_stream_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = GitRepo(tmp_path / "reg")
    versions = _versions(r, 3 << 20, 6)
    r.git("repack", "-a", "-d", "-f", "--depth=10", "--window=10", "-q")
    r.git("prune-packed")
    depths = _deltified(r)
    ids = [hashlib.sha1(b"blob %d\0" % len(v) + v).hexdigest() for v in versions]
    assert max(depths[i] for i in ids) >= 3  # a real chain, not whole blobs
    with Registry.open(r.path) as reg:

        def whole(_: str) -> bytes:
            raise AssertionError("the packed blob was read whole")

        monkeypatch.setattr(reg.objects, "blob", whole)
        for blob_id, data in zip(ids, versions, strict=True):
            with open_blob(reg, blob_id) as fh:
                assert fh.read(7) == data[:7] and fh.read() == data[7:]
    assert list((r.path / ".git/mlvc/tmp").iterdir()) == []  # temp files gone when closed


def test_a_packed_1gb_blob_peaks_under_100mb(tmp_path: Path) -> None:
    r = GitRepo(tmp_path / "reg")
    r.commit("first", {"README": "x"})
    big = subprocess.run(
        f"head -c {1 << 30} /dev/zero | git -c core.compression=1 hash-object -w --stdin",
        shell=True,
        cwd=r.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    r.git("update-index", "--add", "--cacheinfo", f"100644,{big},models/model.bin")
    r.git("commit", "-q", "-m", "a 1 GB model, not in LFS")
    versions = _versions(r, 8 << 20, 4)  # and a delta chain
    r.git("-c", "pack.compression=1", "repack", "-a", "-d", "-q")
    r.git("prune-packed")
    assert not list((r.path / ".git/objects").glob("??/*"))  # everything is packed
    ids = [hashlib.sha1(b"blob %d\0" % len(v) + v).hexdigest() for v in versions]
    # through sh, which forks: Linux keeps ru_maxrss across exec, and pytest is big
    argv = [sys.executable, "-c", READ, str(r.path), big, ids[-1]]
    out = subprocess.run(
        ["/bin/sh", "-c", '"$@" || exit $?', "sh", *argv],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    doc = json.loads(out.stdout)
    assert doc["sizes"] == {big: 1 << 30, ids[-1]: len(versions[-1])}
    print(f"packed 1 GB blob: base {doc['base_mb']:.0f} MB, peak {doc['peak_mb']:.0f} MB")
    assert doc["peak_mb"] < 100, doc
