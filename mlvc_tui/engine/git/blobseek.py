"""A big blob read at any offset from its one zlib stream, with cheap backward seeks.

Inflating is forward only. While a blob is inflated, :class:`SeekableBlob` keeps *marks*:
copies of the inflate and sha1 states every :data:`MARK_EVERY` bytes (about 40 KB each,
zlib's 32 KB window and its tables). A read behind the stream's position rewinds to the
nearest mark before it and inflates forward from there, instead of starting the blob again
from its first byte; a read far ahead jumps to a mark taken on an earlier pass. At most
:data:`MAX_MARKS` are kept: past that every other one is dropped and the spacing doubles,
so memory stays bounded whatever the blob's size (a 1 GB blob: marks every 8 MB).

The sha1 check stays whole: a mark's hash covers every byte before it, so reading on from
a mark to the end still checks the blob against its id.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from typing import BinaryIO

from mlvc_tui.engine.git.blobreader import CHUNK, BlobReader, Mark

__all__ = ["MARK_EVERY", "MAX_MARKS", "SeekableBlob"]

MARK_EVERY = 4 << 20
MAX_MARKS = 128


class SeekableBlob:
    """A blob's bytes by offset, from streams ``opener`` returns (:func:`blobio.open_blob`).

    Observable costs, for tests and benchmarks: ``starts`` counts the times the blob was
    inflated from its first byte (once, then only for reads before the first mark),
    ``rewinds`` the jumps to a mark, ``inflated`` the bytes inflated in all. Thread-safe.
    """

    def __init__(
        self,
        opener: Callable[[], BinaryIO],
        size: int,
        *,
        every: int = MARK_EVERY,
        most: int = MAX_MARKS,
    ) -> None:
        self._open, self.size = opener, size
        self._every, self._most = every, most
        self._lock = threading.Lock()
        self._stream: BinaryIO | None = None
        self._reader: BlobReader | None = None  # the raw inflater, when marks can be taken
        self._pos = 0
        self._marks: list[Mark] = []
        self._ats: list[int] = []  # the marks' positions, for bisect
        self._scratch: bytearray | None = None
        self.starts = 0
        self.rewinds = 0
        self.inflated = 0

    @property
    def marks(self) -> int:
        """How many marks are held now (at most ``most``)."""
        return len(self._marks)

    # -- positioning -------------------------------------------------------------------------

    def _start(self) -> None:
        self._close()
        stream = self._open()
        raw = getattr(stream, "raw", None)
        # the inflater itself is read (exact positions, marks) when there is one; otherwise
        # (a resolved delta chain, a small blob in memory) plain forward reads. The wrapper
        # is kept: dropping it would close the inflater's file.
        self._stream = stream
        self._reader = raw if isinstance(raw, BlobReader) else None
        self._pos = 0
        self.starts += 1

    def _seek(self, offset: int) -> None:
        """Put the stream at ``offset`` or before it, as cheaply as the marks allow."""
        if self._stream is None:
            self._start()
        if self._reader is not None:
            i = bisect.bisect_right(self._ats, offset)
            if i:
                mark = self._marks[i - 1]
                if offset < self._pos or mark.at > self._pos:
                    self._reader.rewind(mark)
                    self._pos = mark.at
                    self.rewinds += 1
                    return
        if offset == self._pos:
            return
        if self._stream is not None and self._stream.seekable():  # a file: just seek there
            self._stream.seek(offset)
            self._pos = offset
            return
        if offset < self._pos:
            self._start()

    def _remember(self) -> None:
        """Take a mark here if the last one before is ``every`` bytes back or more."""
        assert self._reader is not None
        i = bisect.bisect_right(self._ats, self._pos)
        previous = self._ats[i - 1] if i else 0  # the blob's start is a mark of its own
        if self._pos - previous < self._every or (i and previous == self._pos):
            return
        mark = self._reader.mark()
        if mark is None:  # mid-chunk: try at the next boundary
            return
        self._marks.insert(i, mark)
        self._ats.insert(i, mark.at)
        if len(self._marks) > self._most:  # thin out: every other one, twice the spacing
            self._marks, self._every = self._marks[1::2], self._every * 2
            self._ats = [m.at for m in self._marks]

    # -- reading -----------------------------------------------------------------------------

    def _pull(self, target: memoryview) -> int:
        """Fill ``target`` from the stream (less at the end); bytes read."""
        got = 0
        if self._reader is None:
            assert self._stream is not None
            while got < len(target):
                data = self._stream.read(len(target) - got)
                if not data:
                    break
                target[got : got + len(data)] = data
                got += len(data)
            self._pos += got
            self.inflated += got
            return got
        while got < len(target):
            n = self._reader.readinto(target[got:])
            if not n:
                break
            got += n
            self._pos += n
            self.inflated += n
            self._remember()
        return got

    def read(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` (fewer at the end)."""
        size = max(0, min(size, self.size - offset))
        if size == 0:
            return b""
        with self._lock:
            self._seek(offset)
            if self._pos < offset:
                if self._scratch is None:
                    self._scratch = bytearray(CHUNK)
                skip = memoryview(self._scratch)
                while self._pos < offset:
                    if not self._pull(skip[: min(CHUNK, offset - self._pos)]):
                        return b""
            out = bytearray(size)
            got = self._pull(memoryview(out))
            return bytes(out[:got]) if got < size else bytes(out)

    def _close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        self._stream = self._reader = None

    def close(self) -> None:
        """Close the stream and drop the marks."""
        with self._lock:
            self._close()
            self._marks, self._ats, self._scratch = [], [], None
