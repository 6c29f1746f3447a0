"""The repository's Git LFS store: objects in `.git/lfs/objects/<aa>/<bb>/<oid>`, as git-lfs
keeps them, and the pointer files committed in their place.

Pointer format (git-lfs spec v1): three lines, keys sorted, ``version`` first::

    version https://git-lfs.github.com/spec/v1
    oid sha256:<64 hex digits>
    size <bytes>
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from mlvc_tui.engine.errors import BadInput

__all__ = ["LfsPointer", "LfsStore", "parse_pointer", "pointer_bytes"]

SPEC = "https://git-lfs.github.com/spec/v1"
MAX_POINTER = 1024  # git-lfs never reads more than this for a pointer
_OID = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class LfsPointer:
    """What an LFS pointer file names: the content's sha256 and size."""

    oid: str
    size: int


def pointer_bytes(oid: str, size: int) -> bytes:
    """The canonical pointer text for an object (what `git lfs clean` writes)."""
    if not _OID.fullmatch(oid) or size < 0:
        raise ValueError(f"not an LFS object: {oid!r}, {size}")
    return f"version {SPEC}\noid sha256:{oid}\nsize {size}\n".encode("ascii")


def parse_pointer(data: bytes) -> LfsPointer | None:
    """The pointer ``data`` holds, or None when it is not a valid LFS pointer."""
    if len(data) >= MAX_POINTER or not data.startswith(b"version "):
        return None
    try:
        lines = data.decode("ascii").splitlines()
    except UnicodeDecodeError:
        return None
    fields = dict(line.split(" ", 1) for line in lines if " " in line)
    oid, size = fields.get("oid", ""), fields.get("size", "")
    if not fields.get("version", "").startswith("https://") or not oid.startswith("sha256:"):
        return None
    oid = oid.removeprefix("sha256:")
    if not _OID.fullmatch(oid) or not size.isdigit():
        return None
    return LfsPointer(oid, int(size))


class LfsCorrupt(BadInput):
    """An LFS object whose bytes do not hash to its oid."""


class _Sha256Checked(io.RawIOBase):
    """An LFS object's bytes, checked against its oid when the last byte is read."""

    def __init__(self, fh: io.BufferedReader, pointer: LfsPointer, where: str) -> None:
        self.fh, self.pointer, self.where = fh, pointer, where
        self.digest = hashlib.sha256()
        self.left = pointer.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        """Seek the file; back at 0 the check starts over, anywhere else it stops."""
        at = self.fh.seek(pos, whence)
        self.digest = hashlib.sha256()
        self.left = self.pointer.size if at == 0 else -1  # -1: not checked from here
        return at

    def tell(self) -> int:
        return self.fh.tell()

    def readinto(self, target: Any) -> int:
        view = memoryview(target).cast("B")
        if self.left < 0:
            return self.fh.readinto(view) or 0
        if self.left == 0:
            return 0
        n = self.fh.readinto(view[: min(len(view), self.left)]) or 0
        self.digest.update(view[:n])
        self.left -= n
        if self.left > 0 and n == 0:
            raise BadInput(f"the LFS object of {self.where or 'a file'} is truncated")
        if self.left == 0 and self.digest.hexdigest() != self.pointer.oid:
            raise LfsCorrupt(
                f"the LFS object of {self.where or 'a file'} is corrupt: its bytes hash to "
                f"{self.digest.hexdigest()[:12]}, not {self.pointer.oid[:12]}"
            )
        return n

    def close(self) -> None:
        if not self.closed:
            self.fh.close()
        super().close()


class LfsStore:
    """The local LFS object store of a repository (its control directory's ``lfs/``)."""

    def __init__(self, controldir: str | os.PathLike[str]) -> None:
        self.root = Path(controldir) / "lfs"
        self.tmp = self.root / "tmp"

    def path_of(self, oid: str) -> Path:
        """Where the object with this sha256 lives (whether or not it is there)."""
        if not _OID.fullmatch(oid):
            raise BadInput(f"{oid!r} is not an LFS object id")
        return self.root / "objects" / oid[:2] / oid[2:4] / oid

    def has(self, oid: str, size: int | None = None) -> bool:
        """Whether the object is in the store (with the expected size, when given)."""
        try:
            st = self.path_of(oid).stat()
        except OSError:
            return False
        return size is None or st.st_size == size

    def open(self, pointer: LfsPointer, where: str = "") -> BinaryIO:
        """The object's content, read from the store; BadInput when it is not here."""
        if not self.has(pointer.oid, pointer.size):
            raise BadInput(
                f"{where or 'an LFS file'} is in Git LFS and its object {pointer.oid[:12]} "
                "is not in this repository's LFS store: run `git lfs fetch` first"
            )
        raw = _Sha256Checked(self.path_of(pointer.oid).open("rb"), pointer, where)
        return io.BufferedReader(raw, 1 << 20)

    def temp_dir(self) -> Path:
        """A folder on the store's file system for files that will be moved in."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp

    def adopt(self, temp: str | os.PathLike[str], oid: str, hashed: bool = False) -> Path:
        """Move a finished temp file (content hashing to ``oid``) into the store.

        An object already present is kept (same oid, same bytes) and the temp file dropped.
        ``hashed``: the caller hashed the bytes it wrote and they matched, so the object is
        recorded as verified (:mod:`lfs_verified`: a mount passes it through unhashed).
        """
        target = self.path_of(oid)
        if target.exists():
            os.unlink(temp)
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
        if hashed:
            self.remember_verified(oid)
        return target

    # Records of objects hashed whole and found right (see lfs_verified): the object file's
    # inode, size and mtime when hashed; a record holds only while the file still shows them.
    def _record(self, oid: str) -> Path:
        return self.root.parent / "mlvc" / "lfs-verified" / oid

    @staticmethod
    def _stamp(st: os.stat_result) -> str:
        return f"{st.st_ino} {st.st_size} {st.st_mtime_ns}"

    def is_verified(self, pointer: LfsPointer) -> bool:
        """Whether the stored object was hashed whole, right, and has not changed since."""
        try:
            st = self.path_of(pointer.oid).stat()
            seen = self._record(pointer.oid).read_text()
        except OSError:
            return False
        return st.st_size == pointer.size and seen == self._stamp(st)

    def remember_verified(self, oid: str, st: os.stat_result | None = None) -> None:
        """Record that the object (as ``st`` shows it, else as it is now) hashed right."""
        try:
            st = st or self.path_of(oid).stat()
            record = self._record(oid)
            record.parent.mkdir(parents=True, exist_ok=True)
            temp = record.with_name(f".{oid}.{os.getpid()}")
            temp.write_text(self._stamp(st))
            os.replace(temp, record)
        except OSError:
            pass  # a read-only repository: hashed again next time

    def verify(self, oid: str) -> bool:
        """Whether the stored object's bytes still hash to its name."""
        digest = hashlib.sha256()
        with self.path_of(oid).open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest() == oid
