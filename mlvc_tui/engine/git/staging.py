"""Writing files of any size to a branch: streamed into blobs or the LFS store, staged in a
transaction, committed by compare-and-swap, and rebased over writers that raced us.

`FileTransaction` is `writer.Transaction` plus: file objects to write into (``open``),
local files and streams (``put_file``, ``put_stream``), Git LFS for the paths
`.gitattributes` marks ``filter=lfs``, and a commit that, when the branch moved meanwhile,
re-applies its changes on the new tip unless that tip changed one of the same paths.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import sys
import tempfile
import time
import warnings
import weakref
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, BinaryIO

from mlvc_tui.engine.errors import BadInput, Refused
from mlvc_tui.engine.git.attributes import LfsPaths
from mlvc_tui.engine.git.blobio import CHUNK, add_blob, add_blob_file, read_chunks, temp_dir
from mlvc_tui.engine.git.lfs import LfsStore, pointer_bytes
from mlvc_tui.engine.git.writer import FILE_MODE, Transaction, check_path

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from mlvc_tui.engine.registry import Registry

__all__ = ["BranchFile", "FileTransaction", "Spool"]

EXEC_MODE = 0o100755
_BIG = 8 * CHUNK  # bytes already in memory above this are compressed in chunks


class Spool:
    """Bytes written to a temp file in `.git/mlvc/tmp`, counted and hashed (sha256)."""

    def __init__(self, folder: Path) -> None:
        fd, name = tempfile.mkstemp(dir=folder, prefix="spool-")
        self.path = Path(name)
        self._fh = os.fdopen(fd, "wb", buffering=CHUNK)
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: Buffer) -> int:
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:  # e.g. a numpy array's buffer from pickle 5
            view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
        self._fh.write(view)
        self.sha256.update(view)
        self.size += view.nbytes
        return view.nbytes

    def finish(self) -> None:
        self._fh.close()

    def discard(self) -> None:
        self._fh.close()
        self.path.unlink(missing_ok=True)


class BranchFile(io.RawIOBase, BinaryIO):
    """A file being written to a branch: staged when closed (committed too, when alone).

    Leaving a ``with`` block by an exception discards it: nothing is staged or committed.
    ``name`` is its path in the repository.
    """

    def __init__(self, tx: FileTransaction, path: str, commit: bool) -> None:
        super().__init__()
        self.tx, self.path, self._commit = tx, check_path(path), commit
        self._spool = Spool(temp_dir(tx.reg))
        tx.writing.add(path)

    def writable(self) -> bool:
        return True

    @property
    def name(self) -> str:
        return self.path

    @property
    def mode(self) -> str:
        return "wb"

    @property
    def sha256(self) -> str:
        """The sha256 of what was written so far."""
        return self._spool.sha256.hexdigest()

    @property
    def size(self) -> int:
        """How many bytes were written so far."""
        return self._spool.size

    def write(self, data: Buffer) -> int:
        if self.closed:
            raise ValueError("write to a closed file")
        return self._spool.write(data)

    def close(self) -> None:
        """Stage (and commit, when alone) what was written; while an exception is being
        handled (a ``with`` block that raised, here or in fsspec's), discard it instead."""
        if self.closed:
            return
        if sys.exc_info()[1] is not None:
            self.discard()
            return
        try:
            self.tx.writing.discard(self.path)
            self.tx.stage_spool(self.path, self._spool)
            if self._commit:
                self.tx.commit()
        finally:
            super().close()

    def discard(self) -> None:
        """Drop what was written; nothing is staged."""
        if not self.closed:
            self.tx.writing.discard(self.path)
            self._spool.discard()
            super().close()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if t is None:
            self.close()
        else:
            self.discard()

    def __del__(self) -> None:
        # Never closed: a half-written model must not reach a branch.
        if not self.closed and hasattr(self, "_spool"):
            warnings.warn(
                f"{self.path} was never closed: nothing was written to "
                f"{self.tx.branch} (close it, or write in a `with` block)",
                RuntimeWarning,
                stacklevel=1,
            )
            self.discard()


# Transactions open in a ``with`` block, per registry object, by branch.
_OPEN: weakref.WeakKeyDictionary[Registry, dict[str, FileTransaction]] = weakref.WeakKeyDictionary()


def _active(reg: Registry) -> dict[str, FileTransaction]:
    """Transactions open in a ``with`` block on this registry object, by branch."""
    return _OPEN.setdefault(reg, {})


def active_transaction(reg: Registry, branch: str) -> FileTransaction | None:
    """The transaction a ``with`` block holds open on ``branch``, if any."""
    return _active(reg).get(branch)


class FileTransaction(Transaction):
    """Several files, of any size, written to one branch as one commit."""

    def __init__(
        self, reg: Registry, branch: str, message: str, start: str | None = None, retries: int = 64
    ) -> None:
        super().__init__(reg, branch, message, start)
        self.retries = retries
        self.lfs = LfsStore(reg.repo.controldir())
        self.writing: set[str] = set()

    def lfs_match(self, path: str) -> bool:
        """Whether ``path`` goes to Git LFS (by the staged or the branch's `.gitattributes`)."""
        staged = self.changes.get(".gitattributes")
        if staged is not None:
            data = self.reg.objects.blob(staged.blob_id) if staged.blob_id else None
            return LfsPaths(data).match(path)
        if self.parent is None:
            return False
        return self.reg.lfs_paths(self.reg.objects.commit(self.parent)[1]).match(path)

    def put(self, path: str, data: bytes, mode: int = FILE_MODE) -> str:
        """Stage ``data`` at ``path`` (in LFS when the path is; in chunks when big)."""
        check_path(path)
        if self.lfs_match(path):
            spool = Spool(temp_dir(self.reg))
            spool.write(data)
            return self.stage_spool(path, spool, mode)
        if len(data) > _BIG:
            return self.put_blob(path, add_blob(self.reg, [bytes(data)], len(data)), mode)
        return super().put(path, data, mode)

    def put_file(self, path: str, local: str | os.PathLike[str], mode: int | None = None) -> str:
        """Stage a local file at ``path``, read once in chunks (executable bit kept)."""
        check_path(path)
        source = Path(local)
        if not source.is_file():
            raise BadInput(f"{source}: no such file")
        mode = mode or (EXEC_MODE if os.access(source, os.X_OK) else FILE_MODE)
        if not self.lfs_match(path):
            return self.put_blob(path, add_blob_file(self.reg, source), mode)
        with source.open("rb") as fh:
            return self.put_stream(path, fh, mode)

    def put_stream(self, path: str, fh: IO[bytes], mode: int = FILE_MODE) -> str:
        """Stage everything a binary stream yields at ``path``."""
        check_path(path)
        spool = Spool(temp_dir(self.reg))
        try:
            for chunk in read_chunks(fh):
                spool.write(chunk)
        except BaseException:
            spool.discard()
            raise
        return self.stage_spool(path, spool, mode)

    def open(self, path: str, mode: str = "wb") -> BranchFile:
        """A file to write ``path`` into; staged in this transaction when closed."""
        if mode not in ("wb", "w+b", "xb"):
            raise BadInput(f"mode {mode!r}: a transaction opens files with 'wb'")
        return BranchFile(self, check_path(path), commit=False)

    def stage_spool(self, path: str, spool: Spool, mode: int = FILE_MODE) -> str:
        """Stage a finished spool at ``path``: into the LFS store, or compressed as a blob."""
        spool.finish()
        try:
            if self.lfs_match(path):
                oid = spool.sha256.hexdigest()
                self.lfs.temp_dir()
                self.lfs.adopt(spool.path, oid, hashed=True)
                return super().put(path, pointer_bytes(oid, spool.size), mode)
            with spool.path.open("rb") as fh:
                blob = add_blob(self.reg, read_chunks(fh), spool.size)
            return self.put_blob(path, blob, mode)
        finally:
            spool.path.unlink(missing_ok=True)

    def _clashes(self, tip: str | None) -> list[str]:
        """Staged paths whose content differs between our parent and ``tip``."""
        trees = [self.reg.objects.commit(c)[1] if c else None for c in (self.parent, tip)]
        found = [
            [self.reg.objects.lookup(t, p) if t else None for t in trees] for p in self.changes
        ]
        return [p for p, (a, b) in zip(self.changes, found, strict=True) if a != b]

    def commit(self) -> str:
        """Commit, re-applying the changes on a branch that moved meanwhile (same paths
        untouched there), up to ``retries`` times; Refused when a racer changed a path too."""
        if self.writing:
            raise BadInput(f"{sorted(self.writing)[0]} is still open: close it first")
        for attempt in range(self.retries + 1):
            try:
                return super().commit()
            except Refused as exc:
                self.reg.refresh()
                racing = self.reg.branch_tip(self.branch) != self.base or "another process" in str(
                    exc
                )
                if attempt == self.retries or not racing:
                    raise
            time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))  # back off
            self.reg.refresh()
            tip = self.reg.branch_tip(self.branch)
            if tip != self.base:
                clashes = self._clashes(tip)
                if clashes:
                    raise Refused(
                        f"{self.branch} moved meanwhile to {tip[:8] if tip else 'nothing'}, "
                        f"which also changed {clashes[0]}: nothing was changed, try again"
                    )
                self.base = self.parent = tip
                self.new_branch = tip is None
        raise AssertionError("unreachable")

    def discard(self) -> None:
        """Forget the staged changes (stored objects stay unreferenced, as git leaves them)."""
        self.changes.clear()

    def __enter__(self) -> FileTransaction:
        active = _active(self.reg)
        if self.branch in active:
            raise BadInput(f"a transaction on {self.branch} is already open")
        active[self.branch] = self
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        _active(self.reg).pop(self.branch, None)
        if t is None:
            self.commit()
        else:
            self.discard()
