"""The Python API's files: read any ref, write a branch by one commit, transactions, racers."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import re
import subprocess
import warnings
from pathlib import Path

import pytest

import mlvc_tui as mlvc
from mlvc_tui.engine import BadInput, Refused
from tests.support.gitrepo import GitRepo, git_env, use_git_identity


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "reg")
    r.commit(
        "first",
        {
            "models/model.pkl": b"v1",
            "metrics/model.json": {"accuracy": 0.5},
            "data/train.csv": "a,b\n1,2\n",
        },
    )
    r.git("branch", "exp/a")
    r.git("tag", "v1")
    return r


def show(repo: GitRepo, spec: str) -> bytes:
    """`git show REF:PATH`, as bytes."""
    return subprocess.run(
        ["git", "show", spec], cwd=repo.path, env=git_env(), capture_output=True, check=True
    ).stdout


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    use_git_identity(monkeypatch)


def test_reads_any_ref_without_checkout(repo: GitRepo) -> None:
    repo.checkout("exp/a")
    repo.commit("exp", {"data/train.csv": "a,b\n3,4\n"})
    repo.checkout("prod")
    with mlvc.open(repo.path) as reg:
        with reg.open("exp/a", "data/train.csv") as fh:
            assert fh.read() == b"a,b\n3,4\n"
        with reg.open("v1", "data/train.csv", "r") as fh:
            assert fh.read() == "a,b\n1,2\n"
        with reg.open(repo.rev("prod")[:10], "models/model.pkl") as fh:
            assert fh.read() == b"v1"
        assert [e.path for e in reg.ls("prod", "models")] == ["models/model.pkl"]
        assert reg.stat("prod", "data").type == "directory"
        assert reg.branches()[0].name == "prod"  # the engine's verbs are there too
        with pytest.raises(BadInput, match=r"no file models/nope\.pkl on prod"):
            reg.open("prod", "models/nope.pkl")
        with pytest.raises(BadInput, match="is a folder"):
            reg.open("prod", "models")
        with pytest.raises(BadInput, match="no branch, tag or commit"):
            reg.open("nope", "models/model.pkl")


def test_a_written_file_is_one_commit_git_sees(repo: GitRepo) -> None:
    with mlvc.open(repo.path) as reg:
        with reg.open("exp/a", "models/model.pkl", "wb", message="Retrain") as fh:
            pickle.dump({"w": [1, 2]}, fh)
        with reg.open("exp/a", "logs/train.log", "w") as fh:
            fh.write("epoch 1\n")
    assert repo.git("log", "--format=%s", "exp/a").split("\n")[:3] == [
        "Write logs/train.log",
        "Retrain",
        "first",
    ]
    assert pickle.loads(show(repo, "exp/a:models/model.pkl")) == {"w": [1, 2]}
    assert repo.git("show", "exp/a:logs/train.log") == "epoch 1\n"
    assert repo.git("fsck", "--strict", "--no-dangling") == ""
    assert repo.git("status", "--porcelain") == ""


def test_a_transaction_is_one_commit_and_updates_the_checked_out_branch(repo: GitRepo) -> None:
    big = os.urandom(3 << 20)  # several chunks, streamed both ways
    with mlvc.open(repo.path) as reg:
        with reg.transaction("prod", "Train v2") as tx:
            with reg.open("prod", "models/model.pkl", "wb") as fh:
                fh.write(big)
            tx.put("metrics/model.json", b'{"accuracy": 0.7}')
            with tx.open("logs/a.log") as fh:
                fh.write(b"a\n")
        assert reg.metrics("prod").values == {"accuracy": 0.7}
        with reg.open("prod", "models/model.pkl") as fh:
            assert fh.read() == big
    assert repo.git("log", "--format=%s", "-1", "prod") == "Train v2\n"
    assert (repo.path / "models/model.pkl").read_bytes() == big  # working tree follows
    assert repo.git("status", "--porcelain") == ""
    assert repo.git("fsck", "--strict", "--no-dangling") == ""


def test_packed_big_blobs_stream_back(repo: GitRepo) -> None:
    big = os.urandom(2 << 20) + b"tail"
    with mlvc.open(repo.path) as reg, reg.open("exp/a", "models/big.bin", "wb") as fh:
        fh.write(big)
    repo.git("gc", "-q", "--prune=now")
    assert not list((repo.path / ".git/objects").glob("??/*"))
    with mlvc.open(repo.path) as reg, reg.open("exp/a", "models/big.bin") as fh:
        assert fh.read(10) == big[:10] and fh.read() == big[10:]


def test_an_exception_or_a_file_never_closed_writes_nothing(repo: GitRepo) -> None:
    before = repo.rev("exp/a")
    with mlvc.open(repo.path) as reg:
        with pytest.raises(RuntimeError), reg.open("exp/a", "models/model.pkl", "wb") as fh:
            fh.write(b"half a model")
            raise RuntimeError("training crashed")
        with pytest.raises(RuntimeError), reg.transaction("exp/a", "half"):
            with reg.open("exp/a", "models/model.pkl", "wb") as fh:
                fh.write(b"v2")
            raise RuntimeError("crashed after the model")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fh = reg.open("exp/a", "models/model.pkl", "wb")
            fh.write(b"forgotten")
            del fh
        assert "never closed: nothing was written to exp/a" in str(caught[0].message)
    assert repo.rev("exp/a") == before
    assert not list((repo.path / ".git/mlvc/tmp").iterdir())


@pytest.mark.parametrize(
    ("ref", "path", "mode", "message"),
    [
        ("exp/a", "../x", "wb", "not a valid path"),
        ("exp/a", ".git/config", "wb", "not a valid path"),
        ("exp/a", "models/x.pkl", "ab", "use 'rb', 'r', 'wb' or 'w'"),
        ("bad..name", "models/x.pkl", "wb", "not a valid branch name"),
    ],
)
def test_refused_writes_change_nothing(
    repo: GitRepo, ref: str, path: str, mode: str, message: str
) -> None:
    refs = repo.git("for-each-ref")
    with mlvc.open(repo.path) as reg, pytest.raises(BadInput, match=message):
        reg.open(ref, path, mode)
    assert repo.git("for-each-ref") == refs


def test_a_new_branch_starts_where_asked(repo: GitRepo) -> None:
    with mlvc.open(repo.path) as reg, reg.open("exp/new", "models/x.pkl", "wb", start="prod") as fh:
        fh.write(b"x")
    assert repo.rev("exp/new^") == repo.rev("prod")


def test_a_write_to_a_new_branch_starts_it_from_prod(repo: GitRepo) -> None:
    with mlvc.open(repo.path) as reg, reg.open("exp/new", "models/x.pkl", "wb") as fh:
        fh.write(b"x")
    assert repo.rev("exp/new^") == repo.rev("prod")
    body = repo.git("log", "-1", "--format=%B", "exp/new")
    assert f"Branch exp/new created from prod ({repo.rev('prod')[:8]})." in body
    with mlvc.open(repo.path) as reg, reg.transaction("exp/tx", "two files") as tx:
        tx.put("a.txt", b"a")
    assert repo.rev("exp/tx^") == repo.rev("prod")


BAD_FILES = [
    ("mlvc.toml", b"not = [valid\n", "mlvc.toml is not valid TOML"),
    ("mlvc.toml", b"[gates]\napprovals = -1\n", "gates.approvals must be >= 0"),
    ("mlvc.toml", b'[versions]\nmajor_paths = "data"\n', "versions.major_paths must be a list"),
    ("delivery.toml", b"mode = 'ab'\n", "needs at least one [[variant]]"),
    (
        "delivery.toml",
        b'[[variant]]\nbranch = "nowhere"\nweight = 100\n',
        "variant 'nowhere' is not a branch",
    ),
    ("models/model.lineage.json", b"{", "is not valid JSON"),
    ("models/model.lineage.json", b'{"sha256": "abc"}', "sha256 must be the model's 64"),
    (
        "models/model.lineage.json",
        b'{"sha256": "' + b"a" * 64 + b'", "path": "models/other.pkl"}',
        "is not the model this record sits beside",
    ),
]


@pytest.mark.parametrize(("path", "data", "message"), BAD_FILES)
def test_a_broken_settings_file_or_record_is_never_committed(
    repo: GitRepo, path: str, data: bytes, message: str
) -> None:
    refs = repo.git("for-each-ref")
    with mlvc.open(repo.path) as reg:
        with pytest.raises(BadInput, match=re.escape(message)), reg.transaction("prod", "x") as tx:
            tx.put(path, data)
        fh = reg.open("exp/a", path, "wb")
        fh.write(data)
        with pytest.raises(BadInput, match="refused, nothing was committed to exp/a"):
            fh.close()
    assert repo.git("for-each-ref") == refs


def test_sound_settings_and_records_are_committed(repo: GitRepo) -> None:
    good = {
        "mlvc.toml": b'[registry]\nprod = "prod"\n[gates]\napprovals = 1\n',
        "delivery.toml": b'[[variant]]\nbranch = "exp/a"\nweight = 100\n',
        "models/model.lineage.json": b'{"sha256": "' + b"a" * 64 + b'", "size": 2}',
    }
    with mlvc.open(repo.path) as reg, reg.transaction("prod", "settings") as tx:
        for path, data in good.items():
            tx.put(path, data)
    assert repo.git("show", "prod:delivery.toml").startswith("[[variant]]")


def _writer(path: str, worker: int, count: int) -> None:
    with mlvc.open(path) as reg:
        for i in range(count):
            with reg.open("exp/a", f"logs/w{worker}-{i}.log", "wb") as fh:
                fh.write(f"{worker} {i}\n".encode())


def test_concurrent_writers_to_one_branch_lose_no_update(repo: GitRepo) -> None:
    workers, count = 4, 5
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(repo.path), w, count)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0] * workers
    files = repo.git("ls-tree", "-r", "--name-only", "exp/a", "logs").split()
    assert len(files) == workers * count
    assert repo.git("rev-list", "--count", "exp/a").strip() == str(1 + workers * count)
    assert repo.git("fsck", "--strict", "--no-dangling") == ""


def test_a_racer_that_wrote_the_same_path_is_refused(repo: GitRepo) -> None:
    with mlvc.open(repo.path) as reg:
        fh = reg.open("exp/a", "models/model.pkl", "wb")
        fh.write(b"mine")
        repo.checkout("exp/a")
        theirs = repo.commit("theirs", {"models/model.pkl": b"theirs"})
        repo.checkout("prod")
        with pytest.raises(Refused, match=r"which also changed models/model\.pkl"):
            fh.close()
    assert repo.rev("exp/a") == theirs


def test_a_racer_on_other_paths_is_rebased_over(repo: GitRepo) -> None:
    with mlvc.open(repo.path) as reg:
        fh = reg.open("exp/a", "models/model.pkl", "wb")
        fh.write(b"mine")
        repo.checkout("exp/a")
        theirs = repo.commit("theirs", {"logs/x.log": "x"})
        repo.checkout("prod")
        fh.close()
    assert repo.rev("exp/a^") == theirs
    assert repo.git("show", "exp/a:models/model.pkl") == "mine"


def test_sizes_of_loose_blobs_come_from_their_header(repo: GitRepo) -> None:
    """The grid never inflates a big loose model to learn its size (2 GB would cost 6 GB)."""
    with mlvc.open(repo.path) as reg, reg.open("exp/a", "models/big.bin", "wb") as fh:
        fh.write(os.urandom(3 << 20))
    blob = repo.rev("exp/a:models/big.bin")
    loose = repo.path / ".git/objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(loose.read_bytes()[:4096])  # a full read would now fail
    with mlvc.open(repo.path) as reg:
        assert reg.artifacts("exp/a")["models/big.bin"].size == 3 << 20
        assert reg.stat("exp/a", "models/big.bin").size == 3 << 20
        with (
            pytest.raises(BadInput, match="is truncated"),
            reg.open("exp/a", "models/big.bin") as fh,
        ):
            fh.read()
