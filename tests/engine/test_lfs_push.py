"""The LFS half of a push against giftless: exactly the objects the pushed commits add go
up before any ref would move; a server stopped mid-upload leaves nothing a reader would
take, and the retry completes."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

import mlvc_tui as mlvc
from mlvc_tui.engine.git.lfs import LfsPointer, LfsStore
from mlvc_tui.engine.git.lfs_push import lfs_objects_to_push, upload_for_push
from mlvc_tui.engine.git.lfs_transfer import LfsClient, LfsTransferError
from mlvc_tui.engine.registry import Registry
from tests.support.gitrepo import GitRepo, use_git_identity
from tests.support.lfs_server import AUTH, LfsServer, giftless_available

pytestmark = pytest.mark.skipif(not giftless_available(), reason="giftless is not installed")
ATTRS = "models/*.bin filter=lfs diff=lfs merge=lfs -text\n"


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    use_git_identity(monkeypatch)


def _write(repo: GitRepo, branch: str, data: bytes) -> LfsPointer:
    with mlvc.open(repo.path) as reg, reg.open(branch, "models/model.bin", "wb") as fh:
        fh.write(data)
    return LfsPointer(hashlib.sha256(data).hexdigest(), len(data))


def test_only_the_objects_of_the_pushed_commits(lfs_server: LfsServer, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "reg")
    repo.commit("first", {".gitattributes": ATTRS, "README": "x"})
    v1 = _write(repo, "prod", os.urandom(50_000))
    pushed = repo.rev("prod")
    v2 = _write(repo, "prod", os.urandom(60_000))
    repo.git("branch", "exp/a", "prod")
    v3 = _write(repo, "exp/a", os.urandom(70_000))
    repo.git("remote", "add", "origin", lfs_server.git_url("team/push1", auth=AUTH))
    with Registry.open(repo.path) as reg:
        assert lfs_objects_to_push(reg, [repo.rev("prod")], [pushed]) == [v2]
        everything = lfs_objects_to_push(reg, [repo.rev("exp/a")], [])
        assert sorted(everything, key=lambda p: p.size) == [v1, v2, v3]
        assert upload_for_push(reg, "origin", [repo.rev("exp/a")], [pushed]) == 2
        assert upload_for_push(reg, "origin", [repo.rev("exp/a")], []) == 1  # v1 only
        assert upload_for_push(reg, "origin", [repo.rev("exp/a")], []) == 0
    for p in (v1, v2, v3):
        assert lfs_server.object_path(p.oid, "team/push1").stat().st_size == p.size


def test_server_stopped_mid_upload_then_the_retry_completes(
    lfs_server: LfsServer, tmp_path: Path
) -> None:
    data = os.urandom(24 << 20)
    pointer = LfsPointer(hashlib.sha256(data).hexdigest(), len(data))
    store = LfsStore(tmp_path / "src")
    store.path_of(pointer.oid).parent.mkdir(parents=True)
    store.path_of(pointer.oid).write_bytes(data)
    url = lfs_server.url("team/halfway", auth=AUTH)

    def stop_halfway(oid: str, done: int, total: int) -> None:
        if done >= total // 2 and lfs_server.proc is not None:
            lfs_server.stop()

    client = LfsClient(url, retries=1, backoff=0.05)
    try:
        with pytest.raises(LfsTransferError, match="upload of"):
            client.upload_many([pointer], store, stop_halfway)
    finally:
        lfs_server.start()  # same port, same storage
    fresh = LfsStore(tmp_path / "reader")
    stored = lfs_server.object_path(pointer.oid, "team/halfway")
    if stored.exists():  # giftless wrote part of it: a reader refuses those bytes
        assert stored.stat().st_size < pointer.size
        with pytest.raises(LfsTransferError):
            LfsClient(url, retries=0).download(pointer, fresh)
        assert not fresh.has(pointer.oid)
    assert client.upload_many([pointer], store) == 1
    assert stored.read_bytes() == data
    assert LfsClient(url).download(pointer, fresh).read_bytes() == data


def test_an_object_missing_locally_stops_the_push_before_anything_is_sent(
    lfs_server: LfsServer, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "reg")
    repo.commit("first", {".gitattributes": ATTRS})
    v1 = _write(repo, "prod", os.urandom(10_000))
    (repo.path / ".git" / "lfs" / "objects" / v1.oid[:2] / v1.oid[2:4] / v1.oid).unlink()
    repo.git("remote", "add", "origin", lfs_server.git_url("team/push2", auth=AUTH))
    with Registry.open(repo.path) as reg, pytest.raises(Exception, match="nor in the local"):
        upload_for_push(reg, "origin", [repo.rev("prod")])
    assert not lfs_server.object_path(v1.oid, "team/push2").exists()
    subprocess.run(["git", "-C", str(repo.path), "fsck", "--strict"], check=True)
