"""The FUSE kernel protocol on ``/dev/fuse``, the parts a read-only file system needs.

Layouts and numbers from the kernel's ``include/uapi/linux/fuse.h`` (protocol 7.40 and
later: passthrough). A request is a ``fuse_in_header`` and its operation's struct; a reply
is a ``fuse_out_header`` (length, ``-errno``, the request's id) and its payload. Mounting
is the ``mount(2)`` system call with the device's descriptor in the options (root only).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import struct
from pathlib import Path

__all__ = [
    "FOPEN_DIRECT_IO",
    "FOPEN_KEEP_CACHE",
    "FOPEN_PASSTHROUGH",
    "IN_HEADER",
    "Op",
    "attr",
    "backing_close",
    "backing_open",
    "connection",
    "dirent",
    "entry_out",
    "init_reply",
    "kernel_mount",
    "kernel_umount",
    "out_header",
]

ROOT_ID = 1
IN_HEADER = struct.Struct("<IIQQIIIHH")  # len opcode unique nodeid uid gid pid extlen pad
OUT_HEADER = struct.Struct("<IiQ")  # len error unique
INIT_IN = struct.Struct("<IIIII")  # major minor max_readahead flags flags2 (then unused)
INIT_OUT = struct.Struct("<IIIIHHIIHHII24x")  # ... flags2 max_stack_depth unused[6]
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")  # fuse_attr: 88 bytes
ENTRY_OUT = struct.Struct("<QQQQII")  # nodeid generation entry_valid attr_valid nsecs
ATTR_OUT = struct.Struct("<QII")  # attr_valid attr_valid_nsec dummy
OPEN_OUT = struct.Struct("<QIi")  # fh open_flags backing_id
READ_IN = struct.Struct("<QQII")  # fh offset size read_flags (then lock_owner flags pad)
RELEASE_IN = struct.Struct("<QII")  # fh flags release_flags
OPEN_IN = struct.Struct("<II")  # flags open_flags
FORGET_IN = struct.Struct("<Q")
BATCH_FORGET_IN = struct.Struct("<II")
FORGET_ONE = struct.Struct("<QQ")
STATFS_OUT = struct.Struct("<QQQQQIIII24x")
DIRENT = struct.Struct("<QQII")  # ino off namelen type, then the name padded to 8


class Op:
    """Operation codes (enum fuse_opcode)."""

    LOOKUP, FORGET, GETATTR, READLINK = 1, 2, 3, 5
    OPEN, READ, STATFS, RELEASE = 14, 15, 17, 18
    GETXATTR, LISTXATTR, FLUSH, INIT = 22, 23, 25, 26
    OPENDIR, READDIR, RELEASEDIR, ACCESS = 27, 28, 29, 34
    INTERRUPT, DESTROY, BATCH_FORGET = 36, 38, 42


KERNEL_MAJOR, KERNEL_MINOR = 7, 40
FUSE_ASYNC_READ = 1 << 0
FUSE_BIG_WRITES = 1 << 5
FUSE_PARALLEL_DIROPS = 1 << 18
FUSE_MAX_PAGES = 1 << 22
FUSE_CACHE_SYMLINKS = 1 << 23
FUSE_INIT_EXT = 1 << 30
FUSE_PASSTHROUGH = 1 << 37  # in flags2 as bit 5
FOPEN_DIRECT_IO = 1 << 0
FOPEN_KEEP_CACHE = 1 << 1
FOPEN_PASSTHROUGH = 1 << 7
MAX_PAGES = 256  # 1 MiB reads
PAGE = 4096

_IOC_WRITE = 1
_MAGIC = 229


def _iow(nr: int, size: int) -> int:
    return (_IOC_WRITE << 30) | (size << 16) | (_MAGIC << 8) | nr


BACKING_OPEN = _iow(1, 16)  # struct fuse_backing_map {s32 fd; u32 flags; u64 padding}
BACKING_CLOSE = _iow(2, 4)


def out_header(unique: int, error: int, size: int) -> bytes:
    return OUT_HEADER.pack(OUT_HEADER.size + size, error, unique)


def init_reply(offered: int, passthrough: bool) -> tuple[bytes, bool]:
    """The INIT reply for the kernel's ``offered`` flags; whether passthrough was taken."""
    wanted = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES
    wanted |= FUSE_CACHE_SYMLINKS | FUSE_INIT_EXT
    if passthrough:
        wanted |= FUSE_PASSTHROUGH
    flags = wanted & offered
    took = bool(flags & FUSE_PASSTHROUGH)
    body = INIT_OUT.pack(
        KERNEL_MAJOR,
        KERNEL_MINOR,
        MAX_PAGES * PAGE,  # max_readahead
        flags & 0xFFFFFFFF,
        16,  # max_background
        12,  # congestion_threshold
        128 << 10,  # max_write (nothing is written)
        1,  # time_gran: nanoseconds
        MAX_PAGES,
        0,  # map_alignment
        flags >> 32,
        # max_stack_depth: backing files may sit on a stacked file system (an overlayfs
        # root in a container); the mount cannot then be a layer of another overlay
        2 if took else 0,
    )
    return body, took


def attr(ino: int, mode: int, size: int, nlink: int, when_ns: int, uid: int, gid: int) -> bytes:
    sec, nsec = divmod(when_ns, 10**9)
    blocks = (size + 511) // 512
    return ATTR.pack(
        ino, size, blocks, sec, sec, sec, nsec, nsec, nsec, mode, nlink, uid, gid, 0, 1 << 20, 0
    )


def entry_out(nodeid: int, entry_valid: float, attr_valid: float, attrs: bytes) -> bytes:
    """A lookup's answer: the node, how long the name and the attributes may be cached."""
    return ENTRY_OUT.pack(nodeid, 0, int(entry_valid), int(attr_valid), 0, 0) + attrs


def connection(mountpoint: str) -> str | None:
    """The FUSE connection's name in /sys/fs/fuse/connections (its device's minor), read
    from /proc/self/mountinfo (a stat of the mount point would wait for the server)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    found = None
    for line in lines:
        fields = line.split(" ")
        if len(fields) > 4 and fields[4] == mountpoint:
            found = fields[2].split(":")[1]  # the last mount there wins
    return found


def dirent(ino: int, offset: int, kind: int, name: bytes) -> bytes:
    """One directory entry; ``kind`` is the ``DT_*`` type (mode >> 12)."""
    record = DIRENT.pack(ino, offset, len(name), kind) + name
    return record + b"\0" * (-len(record) % 8)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
MNT_DETACH = 2


def kernel_mount(fd: int, target: str, source: str, rootmode: int = 0o40000) -> None:
    """``mount(2)`` a FUSE file system served on ``fd`` at ``target`` (read-only)."""
    options = (
        f"fd={fd},rootmode={rootmode:o},user_id={os.getuid()},group_id={os.getgid()},"
        "default_permissions"
    )
    libc = _libc()
    done = libc.mount(
        source.encode(),
        target.encode(),
        b"fuse.mlvc",
        MS_RDONLY | MS_NOSUID | MS_NODEV,
        options.encode(),
    )
    if done != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), target)


def kernel_umount(target: str, lazy: bool = False) -> int:
    """``umount2(2)``; 0 or the errno."""
    libc = _libc()
    if libc.umount2(target.encode(), MNT_DETACH if lazy else 0) != 0:
        return ctypes.get_errno()
    return 0


def backing_open(dev: int, fd: int) -> int:
    """Register ``fd`` as a backing file with the kernel; its backing id."""
    arg = bytearray(struct.pack("<iIQ", fd, 0, 0))
    return int(fcntl.ioctl(dev, BACKING_OPEN, arg, True))  # typeshed: Any for a buffer


def backing_close(dev: int, backing_id: int) -> None:
    fcntl.ioctl(dev, BACKING_CLOSE, bytearray(struct.pack("<I", backing_id)), True)
