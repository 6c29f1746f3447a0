"""LFS objects whose bytes were hashed whole and found right, remembered on disk.

A record is ``.git/mlvc/lfs-verified/<oid>`` holding the object file's inode, size and
mtime (ns) when it was hashed; it counts only while the file still shows all three, so an
object rewritten or replaced in place is hashed again. Served by the kernel itself (FUSE
passthrough), an object is never seen by mlvc while read: it must be verified before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from mlvc_tui.engine.git.lfs import LfsPointer, LfsStore

__all__ = ["remember", "verified", "verify"]

CHUNK = 1 << 20
AHEAD = 32 << 20  # asked of the disk ahead of the hash


def _will_need(fd: int, offset: int, size: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.posix_fadvise(fd, offset, size, os.POSIX_FADV_WILLNEED)


def _record(store: LfsStore, oid: str) -> Path:
    return store.root.parent / "mlvc" / "lfs-verified" / oid


def _stamp(st: os.stat_result) -> str:
    return f"{st.st_ino} {st.st_size} {st.st_mtime_ns}"


def verified(store: LfsStore, pointer: LfsPointer) -> bool:
    """Whether the stored object was hashed whole, right, and has not changed since."""
    try:
        st = store.path_of(pointer.oid).stat()
        seen = _record(store, pointer.oid).read_text()
    except OSError:
        return False
    return st.st_size == pointer.size and seen == _stamp(st)


def remember(store: LfsStore, pointer: LfsPointer, st: os.stat_result | None = None) -> None:
    """Record that the object (as ``st`` shows it, else as it is now) hashed right."""
    with contextlib.suppress(OSError):  # a read-only repository: hash again next time
        st = st or store.path_of(pointer.oid).stat()
        record = _record(store, pointer.oid)
        record.parent.mkdir(parents=True, exist_ok=True)
        temp = record.with_name(f".{pointer.oid}.{os.getpid()}")
        temp.write_text(_stamp(st))
        os.replace(temp, record)


def verify(store: LfsStore, pointer: LfsPointer) -> bool:
    """Whether the stored object's bytes hash to its oid: from the record when there is
    one, else by hashing the file (then remembered when right)."""
    if verified(store, pointer):
        return True
    path = store.path_of(pointer.oid)
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        st = os.fstat(fh.fileno())
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        done, asked = 0, 0
        while True:
            if done >= asked - AHEAD // 2:  # the disk reads ahead while the CPU hashes
                _will_need(fh.fileno(), asked, AHEAD)
                asked += AHEAD
            n = fh.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
            done += n
        after = os.fstat(fh.fileno())
    good = (
        digest.hexdigest() == pointer.oid
        and st.st_size == pointer.size
        and _stamp(st) == _stamp(after)  # not rewritten while hashed
    )
    if good:
        remember(store, pointer, st)
    return good
