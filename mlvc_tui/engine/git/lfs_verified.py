"""LFS objects whose bytes were hashed whole and found right, remembered on disk.

A record (kept by :class:`LfsStore`) is ``.git/mlvc/lfs-verified/<oid>`` holding the object
file's inode, size and mtime (ns) when it was hashed; it counts only while the file still
shows all three, so an object rewritten or replaced in place is hashed again. Served by the
kernel itself (FUSE passthrough), an object is never seen by mlvc while read: it must be
verified before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os

from mlvc_tui.engine.git.lfs import LfsPointer, LfsStore

__all__ = ["remember", "verified", "verify"]

CHUNK = 1 << 20
AHEAD = 32 << 20  # asked of the disk ahead of the hash


def _will_need(fd: int, offset: int, size: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.posix_fadvise(fd, offset, size, os.POSIX_FADV_WILLNEED)


def verified(store: LfsStore, pointer: LfsPointer) -> bool:
    """Whether the stored object was hashed whole, right, and has not changed since."""
    return store.is_verified(pointer)


def remember(store: LfsStore, pointer: LfsPointer, st: os.stat_result | None = None) -> None:
    """Record that the object (as ``st`` shows it, else as it is now) hashed right."""
    store.remember_verified(pointer.oid, st)


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
        and (st.st_ino, st.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)  # unchanged
    )
    if good:
        remember(store, pointer, st)
    return good
