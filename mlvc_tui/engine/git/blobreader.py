"""Reading one zlib-compressed git object as a stream, checked against its id at the end
(a loose object, or a whole blob inside a pack): used by `blobio` and `packstream`."""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from mlvc_tui.engine.errors import BadInput

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["CHUNK", "BlobReader", "Mark"]

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Mark:
    """A point of a :class:`BlobReader` to come back to: the inflate and sha1 states there
    (about 40 KB, zlib's window) and where its input resumes."""

    at: int  # bytes of the blob before this point
    source: int  # offset of the next compressed byte in the file
    inflate: Any  # a copy of the zlib.Decompress object
    sha1: Any  # a copy of the hash of the blob's first ``at`` bytes


class BlobReader(io.RawIOBase):
    """A zlib stream read from ``offset`` of a file, checked against its git id at the end."""

    def __init__(self, fh: BinaryIO, offset: int, size: int, loose: bool, blob_id: str) -> None:
        self._fh = fh
        fh.seek(offset)
        self._inflate = zlib.decompressobj()
        self._buffer = memoryview(b"")
        self._left = size
        self._sha1 = hashlib.sha1(f"blob {size}\0".encode("ascii"))
        self._blob_id = blob_id
        self.size = size
        if loose:  # a loose object's stream starts with its "blob <size>\0" header
            head = b""
            while b"\0" not in head and len(head) < 64:
                self._fill()
                if not self._buffer:
                    break
                head += bytes(self._buffer)
                self._buffer = memoryview(b"")
            header, _, rest = head.partition(b"\0")
            if header != f"blob {size}".encode("ascii"):
                fh.close()
                raise BadInput(f"object {blob_id} is not a blob of {size} bytes")
            self._buffer = memoryview(rest)

    def readable(self) -> bool:
        return True

    @property
    def position(self) -> int:
        """Bytes of the blob handed out so far."""
        return self.size - self._left

    def mark(self) -> Mark | None:
        """The state here, to :meth:`rewind` to later; None between chunk boundaries (the
        inflated chunk or its pending input would have to be kept too)."""
        if self._buffer or self._inflate.unconsumed_tail or self._inflate.eof:
            return None
        return Mark(self.position, self._fh.tell(), self._inflate.copy(), self._sha1.copy())

    def rewind(self, mark: Mark) -> None:
        """Go back (or forward) to ``mark``, taken from this reader or one over the same
        object; the sha1 check at the end still covers every byte."""
        self._fh.seek(mark.source)
        self._inflate = mark.inflate.copy()
        self._sha1 = mark.sha1.copy()
        self._buffer = memoryview(b"")
        self._left = self.size - mark.at

    def _fill(self) -> None:
        while not self._buffer and not self._inflate.eof:
            data = self._inflate.unconsumed_tail or self._fh.read(CHUNK // 4)
            if not data:
                return
            self._buffer = memoryview(self._inflate.decompress(data, CHUNK))

    def readinto(self, target: Buffer) -> int:
        if self._left <= 0:
            return 0
        if not self._buffer:
            self._fill()
            if not self._buffer:
                raise BadInput(f"object {self._blob_id} is truncated")
        view = memoryview(target)
        n = min(len(view), len(self._buffer), self._left)
        view[:n] = self._buffer[:n]
        self._sha1.update(self._buffer[:n])
        self._buffer = self._buffer[n:]
        self._left -= n
        if self._left == 0 and self._sha1.hexdigest() != self._blob_id:
            raise BadInput(f"object {self._blob_id} is corrupt: its bytes hash differently")
        return n

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


def _loose_header(path: Path) -> int | None:
    """The size in a loose blob's header (inflating a few bytes), None when not a blob."""
    with path.open("rb") as fh:
        inflate, start = zlib.decompressobj(), b""
        while b"\0" not in start and len(start) < 64:
            data = inflate.unconsumed_tail or fh.read(4096)
            if not data:
                break
            start += inflate.decompress(data, 64 - len(start))
    header = start.split(b"\0", 1)[0].split(b" ")
    if len(header) != 2 or header[0] != b"blob" or not header[1].isdigit():
        return None
    return int(header[1])
