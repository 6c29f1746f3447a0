"""The Git LFS batch API against a real server (giftless), cross-checked with git-lfs:
uploads and downloads, auth, a corrupted object, a server that is down, endpoint discovery,
and reads that fetch a missing object on demand (also on a remote-tracking branch)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlvc_tui as mlvc
from mlvc_tui.engine.git.lfs import LfsPointer, LfsStore, pointer_bytes
from mlvc_tui.engine.git.lfs_endpoint import derive_lfs_url, lfs_url
from mlvc_tui.engine.git.lfs_transfer import LfsAuthError, LfsClient, LfsTransferError
from mlvc_tui.engine.registry import Registry
from tests.support.gitrepo import GitRepo, git_env, use_git_identity
from tests.support.lfs_server import LfsServer, giftless_available

pytestmark = pytest.mark.skipif(not giftless_available(), reason="giftless is not installed")
needs_git_lfs = pytest.mark.skipif(not shutil.which("git-lfs"), reason="git-lfs not installed")
ATTRS = "*.bin filter=lfs diff=lfs merge=lfs -text\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LfsServer]:
    with LfsServer(
        tmp_path_factory.mktemp("lfs"), users={"ana": "s3cret"}, tokens=["tok-123"]
    ) as lfs:
        yield lfs


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    use_git_identity(monkeypatch)
    monkeypatch.delenv("MLVC_LFS_TOKEN", raising=False)


def _object(tmp_path: Path, size: int = 3 << 20) -> tuple[LfsPointer, LfsStore, bytes]:
    """A random object in a fresh local store."""
    data = os.urandom(size)
    pointer = LfsPointer(hashlib.sha256(data).hexdigest(), size)
    store = LfsStore(tmp_path / "src")
    target = store.path_of(pointer.oid)
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    return pointer, store, data


def test_upload_then_download_round_trip(server: LfsServer, tmp_path: Path) -> None:
    pointer, store, data = _object(tmp_path)
    client = LfsClient(server.url(auth="ana:s3cret"))
    seen: list[int] = []
    assert client.upload_many([pointer], store, lambda oid, done, total: seen.append(done)) == 1
    assert seen[-1] == pointer.size
    assert server.object_path(pointer.oid).read_bytes() == data
    assert client.upload_many([pointer], store) == 0  # the server has it: nothing sent
    fresh = LfsStore(tmp_path / "dst")
    path = LfsClient(server.url(), token="tok-123").download(pointer, fresh)
    assert path == fresh.path_of(pointer.oid) and path.read_bytes() == data
    assert list(fresh.tmp.iterdir()) == []


def test_wrong_credentials_are_refused_and_nothing_is_cached(
    server: LfsServer, tmp_path: Path
) -> None:
    pointer, store, _ = _object(tmp_path, 1000)
    for client in (LfsClient(server.url(auth="ana:wrong")), LfsClient(server.url(), token="x")):
        with pytest.raises(LfsAuthError, match="refused the credentials"):
            client.upload_many([pointer], store)
        fresh = LfsStore(tmp_path / "dst")
        with pytest.raises(LfsAuthError, match="HTTP 401"):
            client.download(pointer, fresh)
        assert not fresh.has(pointer.oid)


def test_a_corrupted_object_is_refused_and_nothing_is_cached(
    server: LfsServer, tmp_path: Path
) -> None:
    pointer, store, data = _object(tmp_path, 2 << 20)
    client = LfsClient(server.url(auth="ana:s3cret"))
    client.upload_many([pointer], store)
    stored = server.object_path(pointer.oid)
    stored.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])  # one byte flipped
    fresh = LfsStore(tmp_path / "dst")
    with pytest.raises(LfsTransferError, match="corrupt object"):
        client.download(pointer, fresh)
    assert not fresh.has(pointer.oid) and list(fresh.tmp.iterdir()) == []
    stored.write_bytes(data[:1000])  # short: the server closes early, retries cannot help
    with pytest.raises(LfsTransferError):
        LfsClient(server.url(auth="ana:s3cret"), retries=1, backoff=0.01).download(pointer, fresh)
    assert not fresh.has(pointer.oid) and list(fresh.tmp.iterdir()) == []


def test_a_missing_object_and_a_server_that_is_down(server: LfsServer, tmp_path: Path) -> None:
    pointer = LfsPointer(hashlib.sha256(b"never uploaded").hexdigest(), 14)
    store = LfsStore(tmp_path / "dst")
    with pytest.raises(LfsTransferError, match="no object"):
        LfsClient(server.url(auth="ana:s3cret")).download(pointer, store)
    down = LfsClient("http://127.0.0.1:9/git/x.git/info/lfs", retries=2, backoff=0.01)
    with pytest.raises(LfsTransferError, match="after 3 attempts"):
        down.download(pointer, store)
    assert not store.has(pointer.oid)


def test_endpoint_found_as_git_lfs_finds_it(tmp_path: Path) -> None:
    assert derive_lfs_url("https://h/team/reg.git") == "https://h/team/reg.git/info/lfs"
    assert derive_lfs_url("https://h/team/reg/") == "https://h/team/reg.git/info/lfs"
    assert derive_lfs_url("git@h:team/reg.git") == "https://h/team/reg.git/info/lfs"
    assert derive_lfs_url("ssh://git@h:2222/team/reg") == "https://h/team/reg.git/info/lfs"
    assert derive_lfs_url(str(tmp_path)) is None
    repo = GitRepo(tmp_path / "reg")
    repo.commit("first", {".gitattributes": ATTRS})
    with Registry.open(repo.path) as reg:
        assert lfs_url(reg) is None
    repo.git("remote", "add", "origin", "http://127.0.0.1:1/git/team/reg.git")
    with Registry.open(repo.path) as reg:
        assert lfs_url(reg) == "http://127.0.0.1:1/git/team/reg.git/info/lfs"
    repo.commit("lfsconfig", {".lfsconfig": "[lfs]\n\turl = http://lfs.example/committed\n"})
    with Registry.open(repo.path) as reg:
        assert lfs_url(reg, ref="prod") == "http://lfs.example/committed"
    repo.git("config", "lfs.url", "http://lfs.example/config")
    with Registry.open(repo.path) as reg:
        assert lfs_url(reg) == "http://lfs.example/config"
    repo.git("config", "remote.origin.lfsurl", "http://lfs.example/remote")
    with Registry.open(repo.path) as reg:
        assert lfs_url(reg, ref="origin/prod") == "http://lfs.example/remote"


def _git_lfs_repo(path: Path, url: str, content: bytes) -> GitRepo:
    """A repository where the real git-lfs committed ``content`` as models/model.bin."""
    repo = GitRepo(path)
    repo.git("lfs", "install", "--local")
    repo.git("config", "lfs.url", url)
    repo.commit("model", {".gitattributes": ATTRS, "models/model.bin": content})
    return repo


@needs_git_lfs
def test_git_lfs_uploads_mlvc_downloads(server: LfsServer, tmp_path: Path) -> None:
    content = os.urandom(1 << 20)
    url = server.url("team/cross1", auth="ana:s3cret")
    repo = _git_lfs_repo(tmp_path / "a", url, content)
    bare = tmp_path / "a.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    repo.git("remote", "add", "origin", str(bare))
    repo.git("push", "-q", "origin", "prod")  # git-lfs's pre-push hook uploads to lfs.url
    pointer = LfsPointer(hashlib.sha256(content).hexdigest(), len(content))
    store = LfsStore(tmp_path / "mine")
    assert LfsClient(url).download(pointer, store).read_bytes() == content


@needs_git_lfs
def test_mlvc_uploads_git_lfs_downloads(server: LfsServer, tmp_path: Path) -> None:
    pointer, store, data = _object(tmp_path)
    url = server.url("team/cross2", auth="ana:s3cret")
    LfsClient(url).upload_many([pointer], store)
    env = {**git_env(), "GIT_LFS_SKIP_SMUDGE": "1"}
    repo = GitRepo(tmp_path / "b")
    repo.commit(
        "pointer",
        {".gitattributes": ATTRS, "models/model.bin": pointer_bytes(pointer.oid, pointer.size)},
    )
    repo.git("lfs", "install", "--local")
    repo.git("config", "lfs.url", url)
    subprocess.run(["git", "lfs", "pull"], cwd=repo.path, env=env, check=True, capture_output=True)
    assert (repo.path / "models/model.bin").read_bytes() == data


def test_reads_fetch_a_missing_object_on_demand(server: LfsServer, tmp_path: Path) -> None:
    """A clone without LFS objects: reading the model (on prod or origin/prod) fetches it."""
    content = os.urandom(2 << 20)
    src = GitRepo(tmp_path / "src")
    src.commit("first", {".gitattributes": ATTRS})
    with mlvc.open(src.path) as reg:
        with reg.open("prod", "models/model.bin", "wb") as fh:
            fh.write(content)
        url = server.url("team/lazy", auth="ana:s3cret")
        pointer = LfsPointer(hashlib.sha256(content).hexdigest(), len(content))
        LfsClient(url).upload_many([pointer], LfsStore(Path(reg.repo.controldir())))
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--no-checkout", str(src.path), str(clone)],
        check=True,
        env=git_env(),
    )
    subprocess.run(["git", "-C", str(clone), "config", "lfs.url", url], check=True)
    with mlvc.open(clone) as reg:
        store = LfsStore(Path(reg.repo.controldir()))
        assert not store.has(pointer.oid)
        with reg.open("origin/prod", "models/model.bin") as fh:
            assert fh.read() == content
        assert store.has(pointer.oid, pointer.size)
