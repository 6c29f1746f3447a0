"""Git LFS: pointers committed, objects in `.git/lfs/objects/<aa>/<bb>/<oid>`, read back;
cross-checked with the real `git lfs` when it is installed; big files in bounded memory."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import mlvc_tui as mlvc
from mlvc_tui.engine import BadInput, Storage
from mlvc_tui.engine.git.lfs import LfsPointer, parse_pointer, pointer_bytes
from tests.support.gitrepo import GitRepo, use_git_identity

ATTRS = "*.bin filter=lfs diff=lfs merge=lfs -text\n*.pkl filter=lfs diff=lfs merge=lfs -text\n"
HAS_LFS = shutil.which("git-lfs") is not None
needs_git_lfs = pytest.mark.skipif(not HAS_LFS, reason="git-lfs is not installed")


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "reg")
    r.commit("first", {".gitattributes": ATTRS, "metrics/model.json": {"accuracy": 0.5}})
    r.git("branch", "exp/a")
    return r


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    use_git_identity(monkeypatch)


def test_pointer_format_is_the_spec() -> None:
    oid = hashlib.sha256(b"hello").hexdigest()
    text = pointer_bytes(oid, 5)
    assert text == (
        b"version https://git-lfs.github.com/spec/v1\noid sha256:" + oid.encode() + b"\nsize 5\n"
    )
    assert parse_pointer(text) == LfsPointer(oid, 5)
    for bad in (
        b"hello",
        text.replace(b"sha256:", b"md5:"),
        text.replace(b"size 5", b"size x"),
        text.replace(oid.encode(), b"abc"),
        b"version x\n" + text[43:],
    ):
        assert parse_pointer(bad) is None


@needs_git_lfs
def test_pointer_matches_git_lfs(tmp_path: Path) -> None:
    blob = tmp_path / "model.bin"
    blob.write_bytes(os.urandom(3000))
    out = subprocess.run(
        ["git", "lfs", "pointer", f"--file={blob}"], capture_output=True, check=True, cwd=tmp_path
    ).stdout
    oid = hashlib.sha256(blob.read_bytes()).hexdigest()
    assert out == pointer_bytes(oid, 3000)


def test_written_lfs_file_is_a_pointer_and_a_store_object(repo: GitRepo) -> None:
    content = os.urandom(3 << 20)
    oid = hashlib.sha256(content).hexdigest()
    with mlvc.open(repo.path) as reg:
        with reg.open("exp/a", "models/model.bin", "wb") as fh:
            fh.write(content)
        with reg.open("exp/a", "models/model.bin") as fh:
            assert fh.read() == content
        art = reg.artifacts("exp/a")["models/model.bin"]
        assert (art.storage, art.size, art.id) == (Storage.LFS, len(content), oid)
        assert reg.lineage("models/model.bin", "exp/a").version.artifact.size == len(content)
        info = reg.stat("exp/a", "models/model.bin")
        assert (info.storage, info.size, info.id) == (Storage.LFS, len(content), oid)
    assert repo.git("show", "exp/a:models/model.bin").encode() == pointer_bytes(oid, len(content))
    stored = repo.path / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    assert stored.read_bytes() == content
    assert repo.git("fsck", "--strict", "--no-dangling") == ""


def test_models_in_lfs_are_checked_against_their_record(repo: GitRepo) -> None:
    model = {"weights": list(range(1000))}
    saved = mlvc.save_model(model, "models/model.pkl", repo=repo.path, branch="exp/a")
    assert saved.storage is Storage.LFS
    assert mlvc.load_model("models/model.pkl", repo=repo.path, ref="exp/a") == model
    stored = repo.path / ".git/lfs/objects" / saved.sha256[:2] / saved.sha256[2:4] / saved.sha256
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))  # the store corrupted behind our back
    with pytest.raises(mlvc.ModelIntegrityError, match="does not match its lineage record"):
        mlvc.load_model("models/model.pkl", repo=repo.path, ref="exp/a")


def test_a_missing_lfs_object_says_how_to_get_it(repo: GitRepo) -> None:
    oid = hashlib.sha256(b"elsewhere").hexdigest()
    repo.checkout("exp/a")
    repo.commit("pointer only", {"models/model.bin": pointer_bytes(oid, 9)})
    repo.checkout("prod")
    with mlvc.open(repo.path) as reg, pytest.raises(BadInput, match="run `git lfs fetch`"):
        reg.open("exp/a", "models/model.bin")


def test_writing_a_checked_out_branch_without_git_lfs_puts_the_pointer_there(repo: GitRepo) -> None:
    with mlvc.open(repo.path) as reg, reg.open("prod", "models/model.bin", "wb") as fh:
        fh.write(b"content")
    oid = hashlib.sha256(b"content").hexdigest()
    assert (repo.path / "models/model.bin").read_bytes() == pointer_bytes(oid, 7)  # as git
    assert repo.git("status", "--porcelain") == ""


@needs_git_lfs
def test_writing_a_checked_out_branch_puts_the_content_in_the_working_tree(repo: GitRepo) -> None:
    repo.git("lfs", "install", "--local")
    content = os.urandom(100_000)
    with mlvc.open(repo.path) as reg, reg.open("prod", "models/model.bin", "wb") as fh:
        fh.write(content)
    assert (repo.path / "models/model.bin").read_bytes() == content
    assert repo.git("status", "--porcelain") == ""
    with mlvc.open(repo.path) as reg, reg.open("prod", "models/model.bin", "wb") as fh:
        fh.write(b"again")  # the working tree holds content, not the pointer: not dirty
    assert (repo.path / "models/model.bin").read_bytes() == b"again"


@needs_git_lfs
def test_git_lfs_reads_what_mlvc_wrote_and_mlvc_reads_what_git_lfs_wrote(repo: GitRepo) -> None:
    repo.git("lfs", "install", "--local")
    content = os.urandom(200_000)
    with mlvc.open(repo.path) as reg, reg.open("exp/a", "models/model.bin", "wb") as fh:
        fh.write(content)
    repo.checkout("exp/a")  # git-lfs's smudge filter reads our store
    assert (repo.path / "models/model.bin").read_bytes() == content
    assert "models/model.bin" in repo.git("lfs", "ls-files")
    assert "Git LFS fsck OK" in repo.git("lfs", "fsck")
    theirs = os.urandom(150_000)
    repo.commit("git lfs adds one", {"models/other.bin": theirs})
    assert repo.git("show", "HEAD:models/other.bin").startswith("version https://git-lfs")
    with mlvc.open(repo.path) as reg, reg.open("exp/a", "models/other.bin") as fh:
        assert fh.read() == theirs
    assert repo.git("status", "--porcelain") == ""


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "bench_models.py"
    spec = importlib.util.spec_from_file_location("bench_models", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("lfs", [False, True], ids=["blob", "lfs"])
def test_big_models_stream_in_bounded_memory(tmp_path: Path, lfs: bool) -> None:
    bench = _bench()
    size = 48 << 20  # small here; bench/bench_models.py runs 2 GB
    repo = bench.make_repo(tmp_path / "reg", lfs)
    saved = bench.measure("save", repo, size, "models/model.bin")
    read = bench.measure("read", repo, size, "models/model.bin")
    fetched = bench.measure("fetch", repo, size, "models/model.bin")
    assert read["sha256"] == saved["sha256"] and fetched["bytes"] == size
    for step in (saved, read, fetched):
        assert step["peak_mb"] - step["base_mb"] < 32, step  # not the model's 48 MB
    pickled = bench.measure("save-numpy", repo, size, "models/model.pkl")
    assert pickled["peak_mb"] - pickled["base_mb"] < 32, pickled  # the array is not copied
    loaded = bench.measure("load-numpy", repo, size, "models/model.pkl")
    # the array, plus (blobs of 64 MB or less) the checked bytes held in memory
    assert loaded["bytes"] == size
    assert loaded["peak_mb"] - loaded["base_mb"] < 48 + (24 if lfs else 48 + 24), loaded
