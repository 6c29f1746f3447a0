"""Git's ``.lock`` files: naming them in refusals, and recovering the ones left by a crash.

Git and dulwich write a ref (or the index, or packed-refs) by creating ``<file>.lock`` with
O_EXCL, writing it, and renaming it over the file, holding it open throughout. A kill or a
full disk can leave the lock behind, and every later writer is refused forever. A lock's
writer is *provably gone* when the lock is older than a second and no process on this
machine holds it open (every process's open files readable in /proc and none is the lock);
only such a lock is removed. Where that cannot be proven (another user's processes, a
repository shared over the network), the refusal names the lock and its age instead.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LockFile",
    "describe",
    "find_locks",
    "git_dir",
    "held_open",
    "leftovers",
    "recover",
    "ref_lock",
    "stale",
    "sweep",
]

STALE_AFTER = 1.0  # seconds: git and dulwich close a lock microseconds before renaming it


@dataclass(frozen=True, slots=True)
class LockFile:
    """A lock file in a repository's git directory."""

    path: Path
    relative: str  # to the git directory, e.g. refs/heads/prod.lock
    age: float  # seconds since it was last written
    held: bool | None  # a process holds it open; None: cannot tell
    inode: int = 0


def _age(text: float) -> str:
    if text < 120:
        return f"{text:.0f} s"
    if text < 7200:
        return f"{text / 60:.0f} min"
    if text < 172800:
        return f"{text / 3600:.0f} h"
    return f"{text / 86400:.0f} days"


def held_open(path: Path) -> bool | None:
    """Whether any process here has ``path`` open (None: some processes cannot be read)."""
    target = os.path.realpath(path)
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        return None
    unknown = False
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        fds = proc / pid / "fd"
        try:
            names = os.listdir(fds)
        except FileNotFoundError:
            continue  # exited meanwhile
        except PermissionError:
            unknown = True
            continue
        for fd in names:
            with contextlib.suppress(OSError):
                if os.readlink(fds / fd) == target:
                    return True
    return None if unknown else False


def _lock(gitdir: Path, path: Path) -> LockFile | None:
    try:
        st = path.stat()
    except OSError:
        return None
    age = max(time.time() - st.st_mtime, 0.0)
    rel = path.relative_to(gitdir).as_posix()
    return LockFile(path, rel, age, held_open(path), st.st_ino)


def ref_lock(gitdir: str | os.PathLike[str], ref: str) -> LockFile | None:
    """The lock file of ``ref`` (or of packed-refs) when one exists."""
    root = Path(gitdir)
    for candidate in (root / f"{ref}.lock", root / "packed-refs.lock"):
        found = _lock(root, candidate)
        if found is not None:
            return found
    return None


def find_locks(gitdir: str | os.PathLike[str]) -> list[LockFile]:
    """Every lock file under refs/, and the index, HEAD, config and packed-refs locks."""
    root = Path(gitdir)
    paths = [root / n for n in ("index.lock", "HEAD.lock", "config.lock", "packed-refs.lock")]
    for folder, _, names in os.walk(root / "refs"):
        paths += [Path(folder, n) for n in names if n.endswith(".lock")]
    return [lock for p in paths if (lock := _lock(root, p)) is not None]


def stale(lock: LockFile) -> bool:
    """Whether the lock's writer is provably gone: nobody holds it, and it is old."""
    return lock.held is False and lock.age >= STALE_AFTER


def describe(lock: LockFile) -> str:
    """``refs/heads/prod.lock exists (3 h old, no process holds it)`` and the like."""
    how = {True: "a process holds it", False: "no process holds it", None: "its writer unknown"}
    return f"{lock.relative} exists ({_age(lock.age)} old, {how[lock.held]})"


def recover(lock: LockFile) -> bool:
    """Remove ``lock`` when its writer is provably gone (checked again now); whether it did."""
    again = _lock(lock.path.parents[len(Path(lock.relative).parts) - 1], lock.path)
    if again is None or not stale(again) or again.inode != lock.inode:
        return False
    with contextlib.suppress(FileNotFoundError):
        lock.path.unlink()
    return True


def git_dir(path: str | os.PathLike[str]) -> Path:
    """The (common) git directory of the repository at or above ``path``."""
    from dulwich.errors import NotGitRepository
    from dulwich.repo import Repo

    from mlvc_tui.engine.errors import NotARegistry

    try:
        with Repo.discover(str(path)) as repo:
            return Path(repo.commondir())
    except NotGitRepository:
        raise NotARegistry(f"{Path(path).resolve()} is not inside a git repository") from None


def sweep(paths: list[Path], min_age: float = 60.0) -> int:
    """Remove leftovers a crash left (spool files, half-written objects or copies): those
    older than ``min_age`` seconds that no process holds open; how many went."""
    removed = 0
    now = time.time()
    for path in paths:
        try:
            if now - path.lstat().st_mtime < min_age or held_open(path) is not False:
                continue
            path.unlink()
            removed += 1
        except OSError:
            continue
    return removed


def leftovers(gitdir: str | os.PathLike[str], objects: str | os.PathLike[str]) -> list[Path]:
    """Files a crashed writer may have left: `.git/mlvc/tmp/*`, `objects/**/tmp_obj_*`,
    `lfs/tmp/*`."""
    root = Path(gitdir)
    found: list[Path] = []
    for folder in (root / "mlvc" / "tmp", root / "lfs" / "tmp"):
        with contextlib.suppress(OSError):
            found += [p for p in folder.iterdir() if p.is_file()]
    with contextlib.suppress(OSError):
        found += list(Path(objects).glob("??/tmp_obj_*")) + list(Path(objects).glob("tmp_obj_*"))
    return found
