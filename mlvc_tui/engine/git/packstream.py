"""Streaming a packed blob, delta chains included, in bounded memory.

A blob stored whole in a pack is inflated from the pack file as it is read. A delta is
resolved link by link through anonymous temporary files: the chain's base is inflated into
one, then each delta is applied from its zlib stream, copying ranges of the previous file
and inserting literal bytes into the next. Memory stays at a few chunks whatever the
blob's size; disk holds at most two copies, in files the system removes when closed (or
when the process dies). Read with plain file reads, never a memory map, so the pages do
not count as the process's own.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zlib
from pathlib import Path
from typing import IO, Any, BinaryIO

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.blobreader import BlobReader

__all__ = ["open_packed"]

CHUNK = 1 << 20
_BLOB, _OFS_DELTA, _REF_DELTA = 3, 6, 7
_MAX_CHAIN = 10_000


def _header(fh: IO[bytes], offset: int, sha_len: int) -> tuple[int, int, int, int | bytes]:
    """(type, size, data offset, base) of the entry at ``offset`` (see packread)."""
    fh.seek(offset)
    head = fh.read(32 + sha_len)
    byte, pos = head[0], 1
    kind, size, shift = (byte >> 4) & 7, byte & 0x0F, 4
    while byte & 0x80:
        byte = head[pos]
        size |= (byte & 0x7F) << shift
        shift, pos = shift + 7, pos + 1
    base: int | bytes = 0
    if kind == _OFS_DELTA:
        byte = head[pos]
        back, pos = byte & 0x7F, pos + 1
        while byte & 0x80:
            byte = head[pos]
            back, pos = ((back + 1) << 7) | (byte & 0x7F), pos + 1
        base = offset - back
    elif kind == _REF_DELTA:
        base, pos = head[pos : pos + sha_len], pos + sha_len
    return kind, size, offset + pos, base


class _Inflated:
    """Exact reads from the zlib stream that starts at ``offset`` of a pack file."""

    def __init__(self, fh: IO[bytes], offset: int) -> None:
        self.fh = fh
        self.pos = offset
        self.z = zlib.decompressobj()
        self.buf = b""

    def read(self, n: int) -> bytes:
        out = []
        while n > 0:
            if not self.buf:
                data = self.z.unconsumed_tail
                if not data:
                    self.fh.seek(self.pos)
                    data = self.fh.read(CHUNK // 4)
                    self.pos += len(data)
                if not data:
                    raise BadInput("a pack entry is truncated")
                self.buf = self.z.decompress(data, max(n, CHUNK // 4))
                if not self.buf and self.z.eof:
                    raise BadInput("a pack entry is shorter than its header says")
            part, self.buf = self.buf[:n], self.buf[n:]
            out.append(part)
            n -= len(part)
        return b"".join(out)


def _varint(src: _Inflated) -> int:
    value = shift = 0
    while True:
        byte = src.read(1)[0]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value


def _apply(delta: _Inflated, base: IO[bytes], out: IO[bytes]) -> None:
    """Apply one delta stream to ``base`` (a file) into ``out``, a chunk at a time."""
    _varint(delta)  # the base's size
    left = _varint(delta)
    pending: list[bytes] = []
    held = 0
    while left > 0:
        op = delta.read(1)[0]
        if op & 0x80:
            offset = size = 0
            for i in range(4):
                if op & (1 << i):
                    offset |= delta.read(1)[0] << (8 * i)
            for i in range(3):
                if op & (1 << (4 + i)):
                    size |= delta.read(1)[0] << (8 * i)
            size = size or 0x10000
            if pending:
                out.write(b"".join(pending))
                pending, held = [], 0
            base.seek(offset)
            todo = size
            while todo:
                chunk = base.read(min(todo, CHUNK))
                if not chunk:
                    raise BadInput("a delta copies past the end of its base")
                out.write(chunk)
                todo -= len(chunk)
        elif op:
            size = op
            pending.append(delta.read(op))
            held += op
            if held >= CHUNK:
                out.write(b"".join(pending))
                pending, held = [], 0
        else:
            raise BadInput("a delta holds an invalid instruction")
        left -= size
    if pending:
        out.write(b"".join(pending))


class _Checked(io.RawIOBase):
    """A resolved delta chain's bytes (a temp file), checked against the blob id before the
    first read: then read in any order (a backward seek is a file seek)."""

    def __init__(self, fh: IO[bytes], size: int, blob_id: str) -> None:
        self.fh, self.size, self.blob_id = fh, size, blob_id
        sha1 = hashlib.sha1(f"blob {size}\0".encode("ascii"))
        fh.seek(0)
        while chunk := fh.read(CHUNK):
            sha1.update(chunk)
        if sha1.hexdigest() != blob_id:
            fh.close()
            raise BadInput(f"object {blob_id} is corrupt: its bytes hash differently")
        fh.seek(0)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        return self.fh.seek(pos, whence)

    def tell(self) -> int:
        return self.fh.tell()

    def readinto(self, target: Any) -> int:
        data = self.fh.read(min(len(target), CHUNK))
        target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.fh.close()
        super().close()


def _inflate_to(fh: IO[bytes], offset: int, size: int, out: IO[bytes]) -> None:
    src = _Inflated(fh, offset)
    while size:
        chunk = src.read(min(size, CHUNK))
        out.write(chunk)
        size -= len(chunk)


def open_packed(packs: list[Any], raw_sha: bytes, blob_id: str, tmp: Path) -> BinaryIO | None:
    """A packed blob as a stream (None: in no pack, not a blob, or a base in another pack).

    ``packs`` are dulwich Pack objects (their index and data path are used); temporary
    files for delta chains go to ``tmp``.
    """
    for pack in packs:
        try:
            offset = pack.index.object_offset(raw_sha)  # a binary id, as the index keys it
            path = pack._data_path
        except KeyError:
            continue
        fh = open(path, "rb")  # noqa: SIM115 (returned open)
        try:
            kind, size, pos, base = _header(fh, offset, len(raw_sha))
            chain: list[int] = []
            while kind in (_OFS_DELTA, _REF_DELTA) and len(chain) < _MAX_CHAIN:
                chain.append(pos)
                if kind == _REF_DELTA:
                    try:
                        base = pack.index.object_offset(bytes(base))
                    except KeyError:
                        fh.close()
                        return None  # a thin pack's base elsewhere: the caller's slow path
                kind, size, pos, base = _header(fh, int(base), len(raw_sha))
            if kind != _BLOB:
                fh.close()
                return None
            if not chain:
                return io.BufferedReader(BlobReader(fh, pos, size, False, blob_id), CHUNK)
            tmp.mkdir(parents=True, exist_ok=True)
            current: IO[bytes] = tempfile.TemporaryFile(dir=tmp)  # noqa: SIM115
            _inflate_to(fh, pos, size, current)
            for delta_pos in reversed(chain):
                nxt: IO[bytes] = tempfile.TemporaryFile(dir=tmp)  # noqa: SIM115
                _apply(_Inflated(fh, delta_pos), current, nxt)
                current.close()
                current = nxt
            fh.close()
            total = current.tell()
            current.seek(0)
            return io.BufferedReader(_Checked(current, total, blob_id), CHUNK)
        except BaseException:
            fh.close()
            raise
    return None
