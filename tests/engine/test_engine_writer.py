"""Writing to branches: one commit per transaction, compare-and-swap, the working tree."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from mlvc_tui.engine import BadInput, Refused, Registry
from tests.support.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "reg")
    r.commit("first", {"models/model.pkl": b"v1", "metrics/model.json": {"accuracy": 0.5}})
    r.git("branch", "exp/a")
    return r


def test_transaction_is_one_commit_git_accepts(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        with reg.transaction("exp/a", "Train v2") as tx:
            tx.put("models/model.pkl", b"v2")
            tx.put("metrics/model.json", b'{"accuracy": 0.7}')
            tx.put("models/new/deep.bin", b"deep")
            tx.delete("metrics/model.json")
            tx.put("metrics/model.json", b'{"accuracy": 0.8}')
        assert reg.metrics("exp/a").values == {"accuracy": 0.8}
    assert repo.git("log", "--format=%s", "exp/a").split("\n")[:2] == ["Train v2", "first"]
    assert repo.git("show", "exp/a:models/new/deep.bin") == "deep"
    assert repo.git("fsck", "--strict", "--no-dangling") == ""
    assert repo.git("status", "--porcelain") == ""  # prod checked out: untouched
    assert "mlvc: Train v2" in repo.git("reflog", "show", "exp/a")


def test_delete_and_new_branch_from_a_start(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        with reg.transaction("exp/new", "Drop metrics", start="prod") as tx:
            tx.delete("metrics/model.json")
        with reg.transaction("orphan", "Alone") as tx:
            tx.put("models/x.bin", b"x")
    assert repo.git("ls-tree", "-r", "--name-only", "exp/new") == "models/model.pkl\n"
    assert repo.git("rev-parse", "exp/new^").strip() == repo.rev("prod")
    assert repo.git("rev-list", "--count", "orphan").strip() == "1"


def test_an_exception_writes_nothing(repo: GitRepo) -> None:
    before = repo.rev("exp/a")
    with (
        Registry.open(repo.path) as reg,
        pytest.raises(RuntimeError),
        reg.transaction("exp/a", "half") as tx,
    ):
        tx.put("models/model.pkl", b"v9")
        raise RuntimeError("training crashed")
    assert repo.rev("exp/a") == before


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../x", "models/../../x", ".git/config", "a//b", "", "models/.GIT/x"]
)
def test_bad_paths_are_refused(repo: GitRepo, path: str) -> None:
    with Registry.open(repo.path) as reg:
        tx = reg.transaction("exp/a", "bad")
        with pytest.raises(BadInput, match="not a valid path"):
            tx.put(path, b"x")


@pytest.mark.parametrize("name", ["bad..name", "-x", "a b", "x.lock", ""])
def test_bad_branch_names_are_refused(repo: GitRepo, name: str) -> None:
    with Registry.open(repo.path) as reg, pytest.raises(BadInput, match="not a valid branch"):
        reg.transaction(name, "bad")


def test_a_branch_moved_meanwhile_is_refused(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        tx = reg.transaction("exp/a", "mine")
        tx.put("models/model.pkl", b"mine")
        repo.checkout("exp/a")
        theirs = repo.commit("theirs", {"logs/x.log": "x"})
        repo.checkout("prod")
        with pytest.raises(Refused, match="exp/a moved meanwhile"):
            tx.commit()
    assert repo.rev("exp/a") == theirs


def test_checked_out_branch_clean_tree_is_updated(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg, reg.transaction("prod", "v2") as tx:
        tx.put("models/model.pkl", b"v2")
        tx.delete("metrics/model.json")
    assert (repo.path / "models/model.pkl").read_bytes() == b"v2"
    assert not (repo.path / "metrics/model.json").exists()
    assert repo.git("status", "--porcelain") == ""


def test_checked_out_branch_dirty_tree_refuses(repo: GitRepo) -> None:
    (repo.path / "models/model.pkl").write_bytes(b"local edit")
    before = repo.rev("prod")
    with Registry.open(repo.path) as reg:
        tx = reg.transaction("prod", "v2")
        tx.put("models/model.pkl", b"v2")
        with pytest.raises(Refused, match=r"uncommitted changes to models/model\.pkl"):
            tx.commit()
        with reg.transaction("prod", "other file") as ok:  # untouched paths may move
            ok.put("logs/a.log", b"a")
    assert repo.rev("prod^") == before
    assert (repo.path / "models/model.pkl").read_bytes() == b"local edit"


def _writer(path: str, n: int) -> int:
    """Write one file, retrying when another writer won the race; attempts made."""
    for attempt in range(1, 200):
        with Registry.open(path) as reg:
            try:
                with reg.transaction("exp/a", f"writer {n}") as tx:
                    tx.put(f"logs/writer-{n}.log", f"{n}".encode())
                return attempt
            except Refused:
                continue
    return -1


def test_concurrent_writers_lose_no_update(repo: GitRepo) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        attempts = pool.starmap(_writer, [(str(repo.path), n) for n in range(8)])
    assert all(a > 0 for a in attempts)
    files = repo.git("ls-tree", "-r", "--name-only", "exp/a").split()
    assert {f"logs/writer-{n}.log" for n in range(8)} <= set(files)
    assert repo.git("rev-list", "--count", "exp/a").strip() == "9"
    assert repo.git("fsck", "--strict", "--no-dangling") == ""


def test_checked_out_branch_moved_meanwhile_says_so(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        tx = reg.transaction("prod", "mine")
        tx.put("models/model.pkl", b"mine")
        theirs = repo.commit("theirs", {"models/model.pkl": b"theirs"})
        with pytest.raises(Refused, match="prod moved meanwhile"):
            tx.commit()
    assert repo.rev("prod") == theirs and repo.git("status", "--porcelain") == ""
