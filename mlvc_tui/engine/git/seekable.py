"""Files on a tree read at any offset, with bounded memory: what a mounted file system needs.

`read(offset, size)` never loads a whole big file. Three sources:

- a small blob (under :data:`SMALL`) is read once and kept (git would inflate it anyway);
- a bigger blob is one forward zlib stream (:func:`blobio.open_blob`, sha1-checked when read
  to its end); a read behind the stream's position rewinds to the nearest mark before it
  (:class:`blobseek.SeekableBlob`), never to the blob's start once a mark is there;
- a Git LFS object is read with ``pread`` from the local LFS store (fetched first from the
  LFS server of the ref's remote when it is not there: :func:`lfs_object`). Its sha256 is
  checked while reads arrive in order (not at all when :mod:`lfs_verified` holds a record
  that it was, and the file has not changed since): a gap ahead (readahead served out of
  order) is hashed from the file itself, up to :data:`MAX_GAP`; past that the handle stops
  checking. The read that reaches the end fails when the bytes hash differently, and the
  object is marked bad; when they hash right, the object is recorded as verified.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.blobio import CHUNK, blob_size, open_blob
from mlvc_tui.engine.git.blobseek import SeekableBlob
from mlvc_tui.engine.git.files import pointer_at
from mlvc_tui.engine.git.lfs import LfsPointer, LfsStore
from mlvc_tui.engine.git.lfs_verified import remember, verified

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["MAX_GAP", "SMALL", "Corrupt", "FileSource", "lfs_object", "mark_bad", "open_source"]

SMALL = 256 << 10
MAX_GAP = 64 << 20
_BAD: set[str] = set()  # LFS oids whose bytes were seen to hash differently (this process)
_GOOD: set[str] = set()  # LFS oids read whole and checked (this process): not hashed again
_BAD_LOCK = threading.Lock()


class Corrupt(BadInput):
    """Stored bytes do not hash to their id."""


class FileSource:
    """A file's bytes, read at any offset. Thread-safe; close it when done."""

    size: int
    storage: str  # "blob" or "lfs"

    def read(self, offset: int, size: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds (files, buffers)."""


class _Bytes(FileSource):
    def __init__(self, data: bytes) -> None:
        self.data, self.size, self.storage = data, len(data), "blob"

    def read(self, offset: int, size: int) -> bytes:
        return self.data[offset : offset + size]


class _BlobStream(FileSource):
    """A big blob inflated forward, rewound to marks for reads behind (:mod:`blobseek`)."""

    def __init__(self, reg: Registry, lock: threading.Lock, blob_id: str, size: int) -> None:
        self.size, self.storage = size, "blob"
        self._reg, self._engine, self._id = reg, lock, blob_id
        self.blob = SeekableBlob(self._open, size)

    def _open(self) -> BinaryIO:
        with self._engine:
            return open_blob(self._reg, self._id)

    def read(self, offset: int, size: int) -> bytes:
        return self.blob.read(offset, size)

    def close(self) -> None:
        self.blob.close()


class _LfsFile(FileSource):
    """An LFS object read with pread; sha256 checked on in-order reads."""

    def __init__(
        self, path: os.PathLike[str] | str, pointer: LfsPointer, store: LfsStore | None = None
    ) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self.size, self.storage, self.oid = pointer.size, "lfs", pointer.oid
        self._pointer, self._store, self._stat = pointer, store, os.fstat(self._fd)
        self._lock = threading.Lock()
        known = self.oid in _GOOD or (store is not None and verified(store, pointer))
        self._hash: hashlib._Hash | None = None if known else hashlib.sha256()
        self._hashed = 0

    def _check(self, offset: int, data: bytes) -> None:
        with self._lock:
            digest = self._hash
            if digest is None or offset + len(data) <= self._hashed:
                return
            if offset > self._hashed:  # a gap ahead: hash it from the file, if small
                if offset - self._hashed > MAX_GAP:
                    self._hash = None
                    return
                while self._hashed < offset:
                    chunk = os.pread(self._fd, min(CHUNK, offset - self._hashed), self._hashed)
                    if not chunk:
                        break
                    digest.update(chunk)
                    self._hashed += len(chunk)
            start = self._hashed - offset
            digest.update(data[start:] if start else data)
            self._hashed = offset + len(data)
            if self._hashed >= self.size:
                self._hash = None
                good = digest.hexdigest() == self.oid
                with _BAD_LOCK:
                    (_GOOD if good else _BAD).add(self.oid)
                if good and self._store is not None:
                    remember(self._store, self._pointer, self._stat)
                if not good:
                    raise Corrupt(f"LFS object {self.oid[:12]} is corrupt: it hashes differently")

    def read(self, offset: int, size: int) -> bytes:
        if self.oid in _BAD:
            raise Corrupt(f"LFS object {self.oid[:12]} is corrupt")
        data = os.pread(self._fd, max(0, min(size, self.size - offset)), offset)
        if self._hash is not None:
            self._check(offset, data)
        return data

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


_FETCHING: dict[str, threading.Lock] = {}  # one download per LFS oid at a time (this process)


def _fetch_lfs(
    reg: Registry, lock: threading.Lock, pointer: LfsPointer, path: str, ref: str | None
) -> None:
    """Download a missing LFS object into the store from the LFS server of ``ref``'s remote
    (streamed to a temp file, sha256-checked, renamed in only when whole and right).

    BadInput when no server is known, Refused (LfsTransferError) when the download fails;
    either way nothing is left in the store.
    """
    from mlvc_tui.engine.git.lfs_endpoint import client_for, lfs_url
    from mlvc_tui.engine.git.lfs_transfer import LfsTransferError

    store = LfsStore(reg.repo.controldir())
    with lock:
        url = lfs_url(reg, None, ref)
        if url is None:
            raise BadInput(
                f"{path} is in Git LFS and its object {pointer.oid[:12]} is not in this "
                "repository's LFS store, and no LFS server is known: run `git lfs fetch` "
                "or set lfs.url"
            )
        client = client_for(reg, None, ref)
    with _BAD_LOCK:
        one = _FETCHING.setdefault(pointer.oid, threading.Lock())
    with one:  # a second open of the same object waits for the first download
        if store.has(pointer.oid, pointer.size):
            return
        try:
            client.download(pointer, store)
        except LfsTransferError as exc:
            raise LfsTransferError(f"{path}: its LFS object was not fetched: {exc}") from None


def lfs_object(
    reg: Registry,
    lock: threading.Lock,
    tree: str,
    path: str,
    blob_id: str,
    ref: str | None = None,
) -> tuple[LfsPointer, Path] | None:
    """The LFS object blob ``blob_id`` at ``path`` stands for (fetched into the local store
    when missing, see :func:`open_source`) and its file; None when it is not an LFS file."""
    with lock:
        pointer = pointer_at(reg, tree, path, blob_id, blob_size(reg, blob_id))
    return None if pointer is None else (pointer, _local_object(reg, lock, pointer, path, ref))


def _local_object(
    reg: Registry, lock: threading.Lock, pointer: LfsPointer, path: str, ref: str | None
) -> Path:
    """The file of an LFS object in the local store, fetched first when missing."""
    if pointer.oid in _BAD:
        raise Corrupt(f"{path}: its LFS object {pointer.oid[:12]} is corrupt")
    store = LfsStore(reg.repo.controldir())
    if not store.has(pointer.oid, pointer.size):
        _fetch_lfs(reg, lock, pointer, path, ref)
    return store.path_of(pointer.oid)


def mark_bad(oid: str) -> None:
    """Record that an LFS object's bytes hash differently (this process refuses it)."""
    with _BAD_LOCK:
        _BAD.add(oid)


def open_source(
    reg: Registry,
    lock: threading.Lock,
    tree: str,
    path: str,
    blob_id: str,
    ref: str | None = None,
) -> FileSource:
    """The content of blob ``blob_id`` at ``path`` of root tree ``tree``: an LFS pointer's
    object when git would smudge it, else the blob. ``lock`` guards the registry.

    An LFS object missing from the local store is fetched first from the LFS server of
    ``ref``'s remote (the default remote when None). BadInput when no server is known or
    the object is known to be corrupt; LfsTransferError when the download fails.
    """
    with lock:
        size = blob_size(reg, blob_id)
        pointer = pointer_at(reg, tree, path, blob_id, size)
        if pointer is None and size <= SMALL:
            return _Bytes(reg.objects.blob(blob_id))
    if pointer is None:
        return _BlobStream(reg, lock, blob_id, size)
    local = _local_object(reg, lock, pointer, path, ref)  # the pointer is parsed once
    return _LfsFile(local, pointer, LfsStore(reg.repo.controldir()))
