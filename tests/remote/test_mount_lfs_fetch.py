"""`mlvc mount` on a lazy clone: an LFS object not in the local store is fetched from the
registry's LFS server (giftless behind git http-backend, one origin) when a file is opened,
sha256-checked, then served. A server that is down or sends a wrong object: EIO, one line
on the mount's stderr, and nothing in the store."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlvc_tui as mlvc
from mlvc_tui.engine.mount import fuse_problem
from mlvc_tui.engine.remote.clone import clone
from tests.support.gitrepo import git_env
from tests.support.lfs_server import AUTH, LfsServer, Published, giftless_available, registry_server
from tests.support.servers import free_port

PROBLEM = fuse_problem()
pytestmark = [
    pytest.mark.skipif(PROBLEM is not None, reason=f"needs FUSE: {PROBLEM}"),
    pytest.mark.skipif(not giftless_available(), reason="needs giftless and waitress"),
]
MLVC = [sys.executable, "-c", "import sys; from mlvc_tui.cli import main; sys.exit(main())"]
MODEL = "models/model.pkl"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LfsServer]:
    with registry_server(tmp_path_factory.mktemp("srv")) as srv:
        yield srv


@pytest.fixture(scope="module")
def published(server: LfsServer) -> Published:
    return Published.with_prod_model(server)


def _object(published: Published) -> tuple[str, bytes]:
    """The model's LFS oid and bytes, from the training box's store."""
    pointer = published.train.git("show", f"prod:{MODEL}")
    oid = pointer.split("sha256:")[1].split()[0]
    store = published.train.path / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    return oid, store.read_bytes()


def _lazy_clone(server: LfsServer, dest: Path, oid: str) -> Path:
    clone(server.git_url(auth=AUTH), str(dest))
    assert not _stored(dest, oid)
    return dest


def _stored(repo: Path, oid: str) -> bool:
    return (repo / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid).exists()


def _leftovers(repo: Path) -> list[str]:
    tmp = repo / ".git" / "lfs" / "tmp"
    return sorted(os.listdir(tmp)) if tmp.is_dir() else []


def test_a_missing_object_is_fetched_then_served(
    server: LfsServer, published: Published, tmp_path: Path
) -> None:
    oid, want = _object(published)
    repo = _lazy_clone(server, tmp_path / "clone", oid)
    with mlvc.mounted("prod", repo=repo) as folder:
        assert os.stat(folder / MODEL).st_size == len(want)  # the pointer's size, no fetch
        assert not _stored(repo, oid)
        assert (folder / MODEL).read_bytes() == want
    assert _stored(repo, oid) and not _leftovers(repo)
    stored = repo / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == oid


def _open_fails_with_eio(path: Path) -> None:
    with pytest.raises(OSError) as caught, open(path, "rb") as fh:
        fh.read()
    assert caught.value.errno == errno.EIO


@pytest.mark.parametrize("backend", ["auto", "libfuse"])
def test_a_wrong_object_or_a_server_down_is_eio_and_nothing_stored(
    server: LfsServer,
    published: Published,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    monkeypatch.setenv("MLVC_LFS_RETRIES", "0")  # the mount inherits it: fail at once
    if backend != "auto":
        monkeypatch.setenv("MLVC_MOUNT_BACKEND", backend)
    oid, want = _object(published)
    repo = _lazy_clone(server, tmp_path / "clone", oid)
    down = _lazy_clone(server, tmp_path / "down", oid)
    subprocess.run(
        ["git", "config", "lfs.url", f"http://127.0.0.1:{free_port()}/team/x.git/info/lfs"],
        cwd=down,
        check=True,
        env=git_env(),
    )
    held = server.object_path(oid)
    wrong = bytearray(want)
    wrong[len(wrong) // 2] ^= 1
    held.write_bytes(bytes(wrong))  # same size, other bytes
    procs: list[subprocess.Popen[str]] = []
    try:
        for where in (repo, down):
            mnt = tmp_path / f"mnt-{where.name}"
            proc = subprocess.Popen(
                [*MLVC, "-C", str(where), "mount", "prod", str(mnt)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            procs.append(proc)
            line = proc.stdout.readline() if proc.stdout else ""
            assert line.startswith("mounted prod"), line
            _open_fails_with_eio(mnt / MODEL)
            assert not _stored(where, oid) and not _leftovers(where)
        held.write_bytes(want)  # the server has it right again: the next open fetches it
        assert (tmp_path / "mnt-clone" / MODEL).read_bytes() == want
        assert _stored(repo, oid)
        errors = []
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
            errors.append(proc.stderr.read() if proc.stderr else "")
    finally:
        held.write_bytes(want)
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    corrupt, unreachable = errors
    assert corrupt.count("\n") == 1, corrupt
    assert f"{MODEL}: its LFS object was not fetched" in corrupt and "corrupt" in corrupt
    assert unreachable.count("\n") == 1, unreachable
    assert f"{MODEL}: its LFS object was not fetched" in unreachable
    assert "ConnectionRefusedError" in unreachable or "refused" in unreachable.lower()
    assert not _stored(down, oid) and not _leftovers(down)
