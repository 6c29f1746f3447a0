"""Blobs of any size, streamed: written as loose objects and read back in chunks.

dulwich builds a whole blob in memory (`Blob.from_string`, `repo[id].data`), three copies
of a big model. Here a loose object is written by compressing chunks as they come, hashing
its sha1 on the way; a loose object, or a packed one stored whole (not as a delta), is read
by inflating chunks as they are asked for. Memory stays a few megabytes at any size.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from dulwich.objects import hex_to_sha

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.blobreader import CHUNK, BlobReader, _loose_header
from mlvc_tui.engine.git.ids import object_id

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "CHUNK",
    "BlobReader",
    "Readable",
    "add_blob",
    "add_blob_file",
    "blob_size",
    "loose_size",
    "open_blob",
    "temp_dir",
]

LOOSE_LEVEL = 1  # git's core.loosecompression default: speed over size


@runtime_checkable
class Readable(Protocol):
    """Anything with ``read(size) -> bytes``: a binary file, a response, a stream."""

    def read(self, size: int, /) -> bytes: ...


def temp_dir(reg: Registry) -> Path:
    """``.git/mlvc/tmp``: temp files that end up in the object or LFS store (one disk)."""
    path = Path(reg.repo.controldir()) / "mlvc" / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _objects_dir(reg: Registry) -> Path:
    return Path(reg.repo.object_store.path)


def _level(sample: bytes) -> int:
    """zlib level for a blob starting with ``sample``: stored (0) when it barely compresses.

    Serialised weights are mostly incompressible, and deflating them anyway runs ~10x
    slower (~40 MB/s against ~400 MB/s here) for a few percent of disk.
    """
    if len(sample) < 64 << 10:
        return LOOSE_LEVEL
    probe = sample[: 256 << 10]
    return LOOSE_LEVEL if len(zlib.compress(probe, LOOSE_LEVEL)) < 0.9 * len(probe) else 0


def add_blob(reg: Registry, chunks: Iterable[bytes], size: int) -> str:
    """Write ``size`` bytes from ``chunks`` as a loose blob (deflated, or stored when the
    first chunk shows the bytes do not compress); its id.

    BadInput when the chunks hold more or fewer bytes than ``size`` (a file that changed
    while it was read); nothing is left behind then.
    """
    folder = _objects_dir(reg)
    header = f"blob {size}\0".encode("ascii")
    sha1 = hashlib.sha1(header)
    chunks = iter(chunks)
    first = next(chunks, b"")
    squeeze = zlib.compressobj(_level(first))
    fd, temp = tempfile.mkstemp(dir=folder, prefix="tmp_obj_")
    seen = 0
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(squeeze.compress(header))
            for chunk in itertools.chain([first], chunks):
                seen += len(chunk)
                sha1.update(chunk)
                out.write(squeeze.compress(chunk))
            out.write(squeeze.flush())
        if seen != size:
            raise BadInput(f"expected {size} bytes, read {seen}: the file changed while read")
        blob_id = sha1.hexdigest()
        target = folder / blob_id[:2] / blob_id[2:]
        if target.exists():
            os.unlink(temp)
        else:
            target.parent.mkdir(exist_ok=True)
            os.chmod(temp, 0o444)
            os.replace(temp, target)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return blob_id


def read_chunks(fh: Readable, size: int = CHUNK) -> Iterable[bytes]:
    """A binary file's content in chunks."""
    while chunk := fh.read(size):
        yield chunk


def add_blob_file(reg: Registry, path: str | os.PathLike[str]) -> str:
    """A local file written as a loose blob, read once in chunks; its id."""
    with open(path, "rb") as fh:
        return add_blob(reg, read_chunks(fh), os.fstat(fh.fileno()).st_size)


def loose_size(objects_dir: str | os.PathLike[str], blob_id: str) -> int | None:
    """A loose blob's size from its header, or None when it is not a loose blob."""
    loose = Path(objects_dir) / blob_id[:2] / blob_id[2:]
    try:
        return _loose_header(loose)
    except OSError:
        return None


def blob_size(reg: Registry, blob_id: str) -> int:
    """A blob's size without reading it: a loose object's header, else the pack entry's."""
    loose = _objects_dir(reg) / blob_id[:2] / blob_id[2:]
    if loose.exists():
        size = _loose_header(loose)
        if size is not None:
            return size
    return reg.objects.size(blob_id)


def open_blob(reg: Registry, blob_id: str) -> BinaryIO:
    """A blob's bytes as a buffered, forward-only stream; small or delta blobs from memory."""
    loose = _objects_dir(reg) / blob_id[:2] / blob_id[2:]
    if not loose.exists():
        from mlvc_tui.engine.git.packstream import open_packed

        try:
            packs = list(reg.repo.object_store.packs)
            raw = hex_to_sha(object_id(blob_id))
            found = open_packed(packs, raw, blob_id, temp_dir(reg))
        except (AttributeError, OSError):  # not a pack store, or dulwich's layout changed
            found = None
        return found if found is not None else io.BytesIO(reg.objects.blob(blob_id))
    size = _loose_header(loose)
    if size is None:
        raise BadInput(f"object {blob_id} is not a blob")
    reader = BlobReader(loose.open("rb"), 0, size, True, blob_id)
    return io.BufferedReader(reader, CHUNK)
