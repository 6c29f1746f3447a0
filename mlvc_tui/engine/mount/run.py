"""Mounting and unmounting: checks before a mount, serving one, and cleaning up after.

A mount is served by one process in the foreground (``serve``); SIGINT or SIGTERM makes
libfuse unmount and return. A stale mount left by a crashed process ("Transport endpoint is
not connected") is unmounted lazily by the next :func:`preflight` or :func:`unmount`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.mount.limits import READ_SIZE
from mlvc_tui.engine.mount.view import MountRef, TreeView, resolve_mount_ref

if TYPE_CHECKING:
    from mlvc_tui.engine.mount.follow import BranchFollower

__all__ = ["Mounted", "backend", "is_stale", "mounted", "preflight", "serve", "spawn", "unmount"]

FUSE_DEVICE = "/dev/fuse"


def is_stale(path: Path) -> bool:
    """Whether ``path`` is a FUSE mount whose process is gone."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ENOTCONN
    return False


def _fusermount() -> str | None:
    return shutil.which("fusermount3") or shutil.which("fusermount")


def _detach(path: Path, lazy: bool) -> str | None:
    """Unmount ``path``; the error line, or None when it worked."""
    tool = _fusermount()
    commands = [[tool, "-u", *(["-z"] if lazy else []), str(path)]] if tool else []
    if os.geteuid() == 0 and shutil.which("umount"):
        commands.append(["umount", *(["-l"] if lazy else []), str(path)])
    error = "neither fusermount nor umount is installed"
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return None
        lines = (done.stderr or done.stdout).strip().splitlines()
        error = lines[-1] if lines else f"{command[0]} failed"
    return error


def fuse_problem() -> str | None:
    """Why FUSE cannot be used here (one line), or None."""
    if not os.path.exists(FUSE_DEVICE):
        return f"FUSE is not available: {FUSE_DEVICE} is missing (load the fuse module)"
    if not os.access(FUSE_DEVICE, os.R_OK | os.W_OK):
        return f"no permission to mount: {FUSE_DEVICE} is not readable and writable by you"
    if os.geteuid() != 0 and _fusermount() is None:
        return "no permission to mount: fusermount is not installed (apt-get install fuse3)"
    try:
        import mfusepy  # noqa: F401  (finds and loads libfuse)
    except (OSError, ImportError) as exc:
        return f"FUSE is not available: {exc} (apt-get install fuse3 libfuse2)"
    return None


def preflight(mountpoint: str | os.PathLike[str]) -> Path:
    """The mount point, checked: FUSE usable, a folder (made if missing), empty, not mounted.

    A stale mount there is cleaned up first. BadInput (one line) otherwise.
    """
    problem = fuse_problem()
    if problem:
        raise BadInput(problem)
    path = Path(mountpoint).absolute()
    if is_stale(path):
        error = _detach(path, lazy=True)
        if error:
            raise BadInput(f"{path}: a crashed mount is still there and could not go: {error}")
    if os.path.ismount(path):
        raise BadInput(f"{path} is already a mount point (mlvc umount {path})")
    if not path.exists():
        if not path.parent.is_dir():
            raise BadInput(f"{path.parent}: no such folder")
        path.mkdir()
    if not path.is_dir():
        raise BadInput(f"{path} is not a folder")
    if any(path.iterdir()):
        raise BadInput(f"{path} is not empty: mount on an empty folder")
    if not os.access(path, os.W_OK) and os.geteuid() != 0:
        raise BadInput(f"no permission to mount on {path}")
    return path


def unmount(mountpoint: str | os.PathLike[str]) -> str:
    """Unmount ``mountpoint`` (a stale one too); what was done, as a line."""
    path = Path(mountpoint).absolute()
    stale = is_stale(path)
    if not stale and not os.path.ismount(path):
        raise BadInput(f"{path} is not mounted")
    error = _detach(path, lazy=stale)
    if error:
        raise BadInput(f"could not unmount {path}: {error}")
    return f"unmounted {path}" + (" (a crashed mount)" if stale else "")


def mount_options(follow: bool, name: str) -> dict[str, object]:
    """libfuse options: read-only, large reads; cached pages unless the tree may change."""
    timeout = 0 if follow else 3600
    return {
        "ro": True,
        "fsname": f"mlvc:{name}"[:200].replace(",", "_"),
        "subtype": "mlvc",
        "max_read": READ_SIZE,
        "entry_timeout": timeout,
        "attr_timeout": timeout,
        "negative_timeout": timeout,
    }


def _start_quiet(start: Callable[[], None]) -> None:
    """Run ``start`` with the stop signals blocked, so threads it starts never take them:
    libfuse's handlers must run where they wake its loop."""
    stops = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def backend() -> str:
    """Which server a mount uses: ``kernel`` (mlvc speaks /dev/fuse itself, LFS objects
    passed through to the kernel) as root on Linux 6.9 or later, else ``libfuse``
    (mfusepy). ``$MLVC_MOUNT_BACKEND`` forces one."""
    forced = os.environ.get("MLVC_MOUNT_BACKEND", "")
    if forced in ("kernel", "libfuse"):
        return forced
    release = os.uname().release.split("-", 1)[0].split(".")
    try:
        version = (int(release[0]), int(release[1]))
    except (IndexError, ValueError):
        version = (0, 0)
    return "kernel" if os.geteuid() == 0 and version >= (6, 9) else "libfuse"


def _serve_kernel(
    view: TreeView,
    mountpoint: Path,
    name: str,
    follow: bool,
    ready: Callable[[], None],
    follower_for: Callable[[Any], BranchFollower | None],
) -> bool:
    """Serve with :class:`KernelServer`; False (nothing mounted) when the kernel refuses."""
    from mlvc_tui.engine.mount.lowlevel import KernelServer

    passthrough = os.environ.get("MLVC_MOUNT_PASSTHROUGH", "") != "0"  # 0: tests, diagnosis
    server = KernelServer(view, follow, ready, passthrough)
    try:
        server.mount(mountpoint, name)
    except OSError:
        return False
    follower = follower_for(server)
    if follower is not None:
        _start_quiet(follower.start)
    try:
        server.serve()
    finally:
        if follower is not None:
            follower.stop()
    return True


def serve(
    repo: str | os.PathLike[str],
    ref: str,
    mountpoint: Path,
    *,
    prefix: str = "",
    follow: bool = False,
    on_ready: Callable[[MountRef], None] | None = None,
) -> None:
    """Mount ``ref`` of the registry at ``repo`` on ``mountpoint`` until unmounted.

    Blocks; returns after ``fusermount -u``, SIGINT or SIGTERM. BadInput before mounting
    when the ref, the path or the mount point is wrong.
    """
    from mlvc_tui.engine.mount.follow import BranchFollower
    from mlvc_tui.engine.registry import Registry

    lock = threading.Lock()
    with Registry.open(repo) as reg:
        target = resolve_mount_ref(reg, ref)
        if follow and target.branch is None:
            raise BadInput(f"--follow needs a branch; {ref!r} is not one")
        view = TreeView(reg, lock, target.commit, prefix, target.branch)

        def ready() -> None:
            if on_ready is not None:
                on_ready(target)

        def follower_for(tree: Any) -> BranchFollower | None:
            return BranchFollower(reg, lock, tree, target, prefix) if follow else None

        if backend() == "kernel" and _serve_kernel(
            view, mountpoint, ref, follow, ready, follower_for
        ):
            sys.stdout.flush()
            return
        import mfusepy

        from mlvc_tui.engine.mount.fs import MountedTree

        tree = MountedTree(view, follow, ready)
        follower = follower_for(tree)
        if follower is not None:
            _start_quiet(follower.start)
        try:
            mfusepy.FUSE(
                tree,
                str(mountpoint),
                raw_fi=True,
                foreground=True,
                **mount_options(follow, ref),
            )
        except RuntimeError as exc:  # libfuse said why on stderr
            raise BadInput(f"could not mount on {mountpoint} (libfuse error {exc})") from None
        finally:
            if follower is not None:
                follower.stop()
    sys.stdout.flush()


@dataclass(frozen=True, slots=True)
class Mounted:
    """A mount served by a background process."""

    path: Path
    commit: str
    pid: int


READY_TIMEOUT = 30.0  # seconds a background mount may take to appear


def spawn(
    repo: str | os.PathLike[str],
    ref: str,
    mountpoint: str | os.PathLike[str],
    *,
    prefix: str = "",
    follow: bool = False,
) -> Mounted:
    """Mount in a detached process (checked first by :func:`preflight`); returns once the
    folder is mounted. BadInput with the process's own error line when it fails."""
    path = preflight(mountpoint)
    command = [
        sys.executable,
        "-m",
        "mlvc_tui.engine.mount",
        str(Path(repo).absolute()),
        ref,
        str(path),
        *(["--path", prefix] if prefix else []),
        *(["--follow"] if follow else []),
    ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            # pread, not seek and read: the child shares these files' offsets, and a
            # seek here would send its next write back over what it wrote.
            line = _read_start(out).partition("\n")[0].strip()
            if line.endswith("}"):
                return Mounted(path, json.loads(line)["commit"], child.pid)
            if child.poll() is not None:
                lines = _read_start(err).strip().splitlines()
                message = lines[-1] if lines else f"exit {child.returncode}"
                raise BadInput(message.removeprefix("mlvc: "))
            time.sleep(0.02)
        child.terminate()
    raise BadInput(f"the mount of {ref} on {path} did not come up in {READY_TIMEOUT:g} s")


def _read_start(file: IO[bytes]) -> str:
    """The first 64 KiB of ``file``, without moving the offset it shares with a child."""
    return os.pread(file.fileno(), 65536, 0).decode("utf-8", "replace")


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: poll for it
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            done = 0
        if done:
            return
        time.sleep(0.02)


@contextlib.contextmanager
def mounted(
    ref: str,
    repo: str | os.PathLike[str] = ".",
    *,
    path: str = "",
    follow: bool = False,
    mountpoint: str | os.PathLike[str] | None = None,
) -> Iterator[Path]:
    """``with mounted("prod", repo=...) as folder:`` -- ``ref`` as a read-only folder (a
    fresh temporary one unless ``mountpoint``), unmounted and its process gone on exit."""
    temp = None if mountpoint is not None else tempfile.mkdtemp(prefix="mlvc-mount-")
    try:
        mount = spawn(repo, ref, mountpoint or temp or "", prefix=path, follow=follow)
        try:
            yield mount.path
        finally:
            if _detach(mount.path, lazy=False) is not None:
                _detach(mount.path, lazy=True)
            _wait_gone(mount.pid)
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.rmdir(temp)
