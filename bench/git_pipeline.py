"""The registry grid read with the git CLI: the baseline ``mlvc grid`` is measured against.

    python bench/git_pipeline.py PATH [--summary]

It does the reads the grid needs, the way a shell script would: ``git for-each-ref`` for
the branches, one ``git ls-tree -r -l`` per branch for the artifacts (ids and sizes), and
one ``git cat-file --batch`` for every branch's metrics files, which it parses (JSON
flattened to dotted keys, the last row of a CSV), then compares each branch with prod.
Launched as its own process, so it pays interpreter start like ``mlvc`` does.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys

KINDS = ("models", "metrics", "logs", "monitoring", "data")


def git(repo: str, *args: str) -> bytes:
    """Run one git command and return its output."""
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True).stdout


def flatten(doc: object, prefix: str = "") -> dict[str, float]:
    """Nested JSON numbers as dotted keys."""
    out: dict[str, float] = {}
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(doc, int | float) and not isinstance(doc, bool):
        out[prefix[:-1]] = float(doc)
    return out


def parse_metrics(path: str, data: bytes) -> dict[str, float]:
    """Numbers of one metrics file (JSON, or the last row of a CSV)."""
    if path.endswith(".json"):
        return flatten(json.loads(data))
    if path.endswith(".csv"):
        lines = data.decode().strip().splitlines()
        if len(lines) >= 2:
            values: dict[str, float] = {}
            for key, cell in zip(lines[0].split(","), lines[-1].split(","), strict=False):
                with contextlib.suppress(ValueError):
                    values[key] = float(cell)
            return values
    return {}


def read_grid(repo: str) -> dict[str, dict[str, object]]:
    """Branch -> {artifacts: path -> (id, size), metrics: key -> value, status: ...}."""
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes")
    rows: dict[str, dict[str, object]] = {}
    wanted: dict[str, str] = {}  # blob id -> path, for the metrics files
    for ref in refs.decode().split():
        if ref.endswith("/HEAD"):
            continue
        name = ref.removeprefix("refs/heads/").removeprefix("refs/remotes/")
        listing = git(repo, "ls-tree", "-r", "-l", "-z", ref, "--", *KINDS)
        artifacts: dict[str, tuple[str, int | None]] = {}
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, path_b = entry.split(b"\t", 1)
            _mode, _type, oid, size = meta.decode().split()
            path = path_b.decode()
            artifacts[path] = (oid, None if size == "-" else int(size))
            if path.startswith("metrics/"):
                wanted[oid] = path
        rows[name] = {"artifacts": artifacts}
    blobs: dict[str, dict[str, float]] = {}
    if wanted:
        proc = subprocess.run(
            ["git", "-C", repo, "cat-file", "--batch"],
            check=True,
            input="".join(f"{oid}\n" for oid in wanted).encode(),
            capture_output=True,
        ).stdout
        pos = 0
        for oid in wanted:
            end = proc.index(b"\n", pos)
            size = int(proc[pos:end].split()[2])
            blobs[oid] = parse_metrics(wanted[oid], proc[end + 1 : end + 1 + size])
            pos = end + 2 + size
    prod = rows.get("prod", {}).get("artifacts", {})
    for row in rows.values():
        arts = row["artifacts"]
        assert isinstance(arts, dict) and isinstance(prod, dict)
        metrics: dict[str, float] = {}
        status: dict[str, str] = {}
        for path, (oid, _size) in arts.items():
            if path.startswith("metrics/"):
                metrics.update(blobs[oid])
            other = prod.get(path)
            status[path] = "new" if other is None else "same" if other[0] == oid else "changed"
        for path in prod:
            status.setdefault(path, "missing")
        row["metrics"] = metrics
        row["status"] = status
    return rows


def main(argv: list[str]) -> int:
    """Read the grid of the repository at ``argv[0]``; ``--summary`` prints counts."""
    rows = read_grid(argv[0])
    if "--summary" in argv:
        paths = {p for row in rows.values() for p in row["artifacts"]}  # type: ignore[attr-defined]
        print(json.dumps({"branches": len(rows), "artifacts": len(paths)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
