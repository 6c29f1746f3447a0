"""The two servers of `mlvc mount`: mlvc's own on /dev/fuse (root, Linux >= 6.9), which
hands verified LFS objects to the kernel (FUSE passthrough), and libfuse through mfusepy.
Both show the same files; passthrough never serves an object whose sha256 was not
checked; a followed branch's new LFS object appears for the next open only."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import mlvc_tui as mlvc
from mlvc_tui.engine.mount import fuse_problem
from mlvc_tui.engine.mount.run import backend, spawn, unmount
from tests.support.gitrepo import GitRepo
from tests.support.mountrepo import build_mount_repo, lfs_object

PROBLEM = fuse_problem()
pytestmark = pytest.mark.skipif(PROBLEM is not None, reason=f"needs FUSE: {PROBLEM}")
KERNEL = pytest.mark.skipif(
    os.environ.get("MLVC_MOUNT_BACKEND", "") == "libfuse"
    or os.geteuid() != 0
    or tuple(int(x) for x in os.uname().release.split("-")[0].split(".")[:2]) < (6, 9),
    reason="FUSE passthrough needs root and Linux 6.9 or later",
)
SIZE = 24 << 20


@pytest.fixture
def models(tmp_path: Path) -> GitRepo:
    return build_mount_repo(tmp_path / "models", SIZE)


def _object(g: GitRepo, ref: str, path: str) -> Path:
    oid = g.git("show", f"{ref}:{path}").split("sha256:")[1].split()[0]
    return g.path / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid


def _show(g: GitRepo, ref: str, path: str) -> bytes:
    return subprocess.run(
        ["git", "show", f"{ref}:{path}"], cwd=g.path, capture_output=True, check=True
    ).stdout


def _read_by(pid: int) -> int:
    """Bytes the process has read with system calls so far."""
    line = next(x for x in Path(f"/proc/{pid}/io").read_text().splitlines() if "rchar" in x)
    return int(line.split()[1])


def test_the_backend_is_chosen_by_kernel_and_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLVC_MOUNT_BACKEND", "libfuse")
    assert backend() == "libfuse"
    monkeypatch.setenv("MLVC_MOUNT_BACKEND", "kernel")
    assert backend() == "kernel"
    monkeypatch.delenv("MLVC_MOUNT_BACKEND")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert backend() == "libfuse"  # not root: no mount(2), no backing files


@pytest.mark.parametrize("server", ["kernel", "kernel-served", "libfuse"])
def test_both_backends_show_the_same_tree(
    models: GitRepo, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if server.startswith("kernel") and os.geteuid() != 0:
        pytest.skip("the kernel backend needs root")
    monkeypatch.setenv("MLVC_MOUNT_BACKEND", server.split("-")[0])
    if server == "kernel-served":  # mlvc's server without passthrough: LFS read by mlvc
        monkeypatch.setenv("MLVC_MOUNT_PASSTHROUGH", "0")
    with mlvc.mounted("exp/hostile", repo=models.path) as folder:
        listed = models.git("ls-tree", "-r", "--name-only", "prod").split()
        seen = set()
        for top, dirs, names in os.walk(folder):
            for name in names + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
                seen.add(os.path.relpath(os.path.join(top, name), folder))
        assert seen == {*listed, ".mlvc/commit"} - {"data/pinned"}
        assert os.path.isdir(folder / "data" / "pinned")  # a submodule: an empty folder
        assert not os.listdir(folder / "data" / "pinned")
        for path in listed:
            if os.path.islink(folder / path):
                assert os.readlink(folder / path) == _show(models, "prod", path).decode()
            elif path == "models/model.bin":
                assert (folder / path).read_bytes() == _object(models, "prod", path).read_bytes()
            elif not os.path.isdir(folder / path):
                assert (folder / path).read_bytes() == _show(models, "prod", path), path
        assert os.stat(folder / "src" / "train.sh").st_mode & 0o777 == 0o555
        with pytest.raises(OSError) as caught:
            (folder / "data" / "new.csv").write_text("x")
        assert caught.value.errno in (errno.EROFS, errno.EACCES)


@KERNEL
def test_a_verified_object_is_read_by_the_kernel_not_by_mlvc(
    models: GitRepo, tmp_path: Path
) -> None:
    stored = _object(models, "prod", "models/model.bin")
    want = stored.read_bytes()
    mount = spawn(models.path, "prod", tmp_path / "mnt")
    try:
        before = _read_by(mount.pid)
        assert (mount.path / "models" / "model.bin").read_bytes() == want  # hashed, then passed
        hashed = _read_by(mount.pid) - before
        assert hashed >= SIZE  # the object was hashed whole before it was passed through
        for _ in range(3):
            with open(mount.path / "models" / "model.bin", "rb", buffering=0) as fh:
                fh.seek(SIZE // 2)
                assert fh.read(1 << 20) == want[SIZE // 2 : SIZE // 2 + (1 << 20)]
                fh.seek(0)
                assert fh.read() == want
        assert _read_by(mount.pid) - before - hashed < SIZE // 8  # no byte went through mlvc
    finally:
        unmount(mount.path)
    record = models.path / ".git" / "mlvc" / "lfs-verified" / stored.name
    assert record.exists()


@KERNEL
def test_an_object_changed_since_it_was_verified_is_refused(
    models: GitRepo, tmp_path: Path
) -> None:
    stored = _object(models, "prod", "models/model.bin")
    want = stored.read_bytes()
    with mlvc.mounted("prod", repo=models.path) as folder:
        assert (folder / "models" / "model.bin").read_bytes() == want
    bad = bytearray(want)
    bad[SIZE - 10] ^= 1
    stored.chmod(0o644)
    stored.write_bytes(bytes(bad))  # same size, new mtime: the record no longer holds
    with mlvc.mounted("prod", repo=models.path) as folder:
        with pytest.raises(OSError) as caught, open(folder / "models" / "model.bin", "rb") as fh:
            fh.read()
        assert caught.value.errno == errno.EIO
        assert (folder / "models" / "weights.npy").read_bytes() == _show(
            models, "prod", "models/weights.npy"
        )


@KERNEL
def test_follow_a_new_lfs_object_appears_for_the_next_open(models: GitRepo, tmp_path: Path) -> None:
    old = _object(models, "prod", "models/model.bin").read_bytes()
    with mlvc.mounted("prod", repo=models.path, follow=True) as folder:
        held = open(folder / "models" / "model.bin", "rb")  # noqa: SIM115
        first = held.read(1 << 20)
        oid = lfs_object(models.path, SIZE + 4096, b"second model")
        pointer = (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {SIZE + 4096}\n"
        )
        models.commit("A new model", {"models/model.bin": pointer})
        new = models.rev("prod")
        deadline = time.monotonic() + 15
        while (folder / ".mlvc" / "commit").read_text().strip() != new:
            assert time.monotonic() < deadline, "the mount did not follow prod"
            time.sleep(0.1)
        assert first + held.read() == old  # the open file kept its object
        held.close()
        fresh = (folder / "models" / "model.bin").read_bytes()
        assert len(fresh) == SIZE + 4096
        assert fresh == _object(models, "prod", "models/model.bin").read_bytes()


@pytest.mark.parametrize("server", ["auto", "libfuse"])
def test_sigterm_with_files_open_unmounts_and_ends(
    models: GitRepo, tmp_path: Path, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if server != "auto":
        monkeypatch.setenv("MLVC_MOUNT_BACKEND", server)
    mount = spawn(models.path, "prod", tmp_path / "mnt")
    held = [open(mount.path / p, "rb") for p in ("models/model.bin", "models/weights.npy")]  # noqa: SIM115
    try:
        assert all(fh.read(10) for fh in held)
        os.kill(mount.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{mount.pid}").exists():
            stat = Path(f"/proc/{mount.pid}/stat").read_text().split(") ")[-1]
            if stat.startswith("Z"):
                break
            assert time.monotonic() < deadline, "the mount process did not end"
            time.sleep(0.05)
        assert not os.path.ismount(mount.path)
    finally:
        for fh in held:
            with contextlib.suppress(OSError):  # the connection is gone: close says so
                fh.close()
