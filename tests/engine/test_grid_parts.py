"""The grid read in parts (`grid_parts`, the app's way): rows made of the pieces branches
share (`Joined`), the same grid as `Registry.grid()`, and rows of unmoved branches kept
from one read to the next."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlvc_tui.engine import GridPart, grid_parts
from mlvc_tui.engine.joined import Joined
from mlvc_tui.engine.registry import Registry
from tests.support.gitrepo import GitRepo, git_env


def _last(reg: Registry, **kw: object) -> GridPart:
    *_, part = grid_parts(reg, **kw)  # type: ignore[arg-type]
    assert part.complete
    return part


def test_joined_reads_as_the_dict_of_its_parts_merged() -> None:
    a, b = {"x": 1, "y": 2}, {"z": 3}
    joined, merged = Joined((a, {}, b)), {**a, **b}
    assert joined == merged and merged == joined and Joined((a, b)) == joined
    assert list(joined) == list(merged) and list(joined.items()) == list(merged.items())
    assert list(joined.values()) == [1, 2, 3] and len(joined) == 3 and dict(joined) == merged
    assert joined.get("z") == 3 and joined.get("w") is None and "y" in joined and "w" not in joined
    assert joined != {"x": 1, "y": 2} and joined != {"x": 1, "y": 2, "z": 4}
    assert joined.keys() - {"x"} == {"y", "z"}


def _branchy(path: Path) -> GitRepo:
    g = GitRepo(path)
    g.commit(
        "Initial",
        {
            "models/model.pkl": b"v1",
            "metrics/model.json": {"accuracy": 0.8},
            "data/train.csv": "a,b\n1,2\n",
            "data/test.csv": "a,b\n3,4\n",
            "logs/train.log": "one\n",
        },
    )
    for name, files in (
        ("exp/a", {"models/model.pkl": b"a", "metrics/model.json": {"accuracy": 0.81}}),
        ("exp/b", {"metrics/model.json": {"accuracy": 0.79}, "data/extra.csv": "x\n1\n"}),
        ("exp/c", {"logs/train.log": None, "metrics/model.json": {"accuracy": 0.9}}),
    ):
        g.checkout("prod")
        g.checkout(name, new=True)
        g.commit(name, files)
    g.checkout("prod")
    return g


def test_parts_end_in_the_grid_with_the_pieces_shared(tmp_path: Path) -> None:
    g = _branchy(tmp_path / "reg")
    with Registry.open(g.path) as reg:
        parts = list(grid_parts(reg, first=1, chunk=1))
        expected = reg.grid()
    assert [len(p.pending) for p in parts] == [3, 2, 1, 0]  # prod first, then one by one
    last = parts[-1].grid
    assert last == expected
    rows = {r.branch.name: r for r in last.rows}
    assert all(isinstance(r.artifacts, Joined) for r in last.rows)
    assert rows["exp/c"].status["logs/train.log"].value == "missing"
    assert rows["exp/b"].status["data/extra.csv"].value == "new"

    def piece(name: str, path: str) -> object:
        joined = rows[name].artifacts
        assert isinstance(joined, Joined)
        return next(p for p in joined.parts if path in p)

    # exp/a changed models/ only: its data/ piece is prod's, not a copy
    assert piece("exp/a", "data/train.csv") is piece("prod", "data/train.csv")
    assert piece("exp/a", "models/model.pkl") is not piece("prod", "models/model.pkl")


def test_a_second_read_keeps_the_rows_of_unmoved_branches(tmp_path: Path) -> None:
    g = _branchy(tmp_path / "reg")
    with Registry.open(g.path) as reg:
        first = {r.branch.name: r for r in _last(reg).grid.rows}
        g.checkout("exp/a")
        g.commit("exp/a again", {"models/model.pkl": b"a2"})
        g.checkout("prod")
        reg.refresh()
        again = _last(reg).grid
        assert again == reg.grid()
    rows = {r.branch.name: r for r in again.rows}
    assert rows["exp/b"] is first["exp/b"] and rows["prod"] is first["prod"]
    assert rows["exp/a"] != first["exp/a"]
    assert rows["exp/a"].status["models/model.pkl"].value == "changed"


def test_a_tree_naming_a_file_twice_reads_as_the_whole_grid(tmp_path: Path) -> None:
    g = _branchy(tmp_path / "reg")
    one = _hash(g.path, b"blob", b"one")
    two = _hash(g.path, b"blob", b"two")
    sub = _hash(g.path, b"tree", b"100644 x.pkl\0" + bytes.fromhex(one))
    # models/: a.pkl, a folder, then a.pkl again: two runs of files naming one path
    models = _hash(
        g.path,
        b"tree",
        b"100644 a.pkl\0"
        + bytes.fromhex(one)
        + b"40000 b\0"
        + bytes.fromhex(sub)
        + b"100644 a.pkl\0"
        + bytes.fromhex(two),
    )
    root = _hash(g.path, b"tree", b"40000 models\0" + bytes.fromhex(models))
    commit = g.git("commit-tree", root, "-p", g.rev("prod"), "-m", "twice").strip()
    g.git("branch", "exp/twice", commit)
    with Registry.open(g.path) as reg:
        last = _last(reg).grid
        assert last == reg.grid()
    row = next(r for r in last.rows if r.branch.name == "exp/twice")
    assert not isinstance(row.artifacts, Joined)  # read whole, as `Registry.grid()` does


def _hash(repo: Path, kind: bytes, raw: bytes) -> str:
    out = subprocess.run(
        ["git", "hash-object", "-t", kind.decode(), "-w", "--literally", "--stdin"],
        cwd=repo,
        input=raw,
        capture_output=True,
        check=True,
        env=git_env(),
    )
    return out.stdout.decode().strip()
