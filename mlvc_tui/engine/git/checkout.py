"""Moving the checked-out branch: working tree and index under git's own ``index.lock``.

Git serialises every index writer on ``index.lock`` (created with O_EXCL, written, renamed
over ``index``). A write to the checked-out branch holds that lock from before it checks
the working tree until the index is renamed into place, so concurrent writers (mlvc or git)
take turns instead of overwriting each other's index. Before the branch moves, a journal
(``.git/mlvc/checkout-pending``: branch, old and new commit) is written; it is removed once
the working tree and index match the new commit. A crash anywhere leaves either nothing to
do (the branch did not move: the journal is dropped) or a journal that the next command
replays: files still at their old content, and the index, are brought to the new commit.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from dulwich.index import Index, index_entry_from_stat

from mlvc_tui.engine.errors import Refused
from mlvc_tui.engine.git.files import checkout_blob
from mlvc_tui.engine.git.ids import HEAD
from mlvc_tui.engine.git.locks import describe, recover, ref_lock
from mlvc_tui.engine.git.objects import encode
from mlvc_tui.engine.git.paths import safe_target, verify_path

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["IndexLock", "Journal", "repair_checkout", "update_worktree"]

_WAIT = 30.0  # seconds to wait for another writer's index.lock
_DROP_EXTENSIONS = (b"TREE", b"UNTR", b"FSMN")  # caches that entries we change invalidate


class IndexLock:
    """``index.lock`` held for a block: created with O_EXCL (waiting out other writers,
    recovering a stale one), released or renamed over the index by ``commit``."""

    def __init__(self, reg: Registry, wait: float = _WAIT) -> None:
        self.wait = wait
        self.index_path = Path(reg.repo.index_path())
        self.path = self.index_path.with_name(self.index_path.name + ".lock")
        self.gitdir = Path(reg.repo.controldir())
        self.fd: int | None = None

    def __enter__(self) -> IndexLock:
        deadline = time.monotonic() + self.wait
        recovered = False
        while True:
            try:
                self.fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                return self
            except FileExistsError:
                lock = ref_lock(self.gitdir, "index")
                if lock is not None and not recovered and recover(lock):
                    recovered = True
                    continue
                if time.monotonic() > deadline:
                    what = describe(lock) if lock is not None else "index.lock exists"
                    raise Refused(
                        f"the index is being written by another process ({what}): "
                        "nothing was changed, try again"
                    ) from None
                time.sleep(0.01)

    def write(self, index: Index) -> None:
        """Write ``index`` into the lock file (dropping caches it no longer matches)."""
        exts = getattr(index, "_extensions", None)
        if isinstance(exts, list):
            exts[:] = [e for e in exts if getattr(e, "signature", b"") not in _DROP_EXTENSIONS]
        index._filename = str(self.path)  # GitFile: .lock.lock
        inner = self.path.with_name(self.path.name + ".lock")
        inner.unlink(missing_ok=True)  # a killed writer's: we hold index.lock, nobody else can
        index.write()

    def commit(self) -> None:
        """Rename the written lock over the index."""
        os.replace(self.path, self.index_path)
        self._close()

    def _close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.fd is not None:
            self._close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


class Journal:
    """The record of a checkout in progress: written before the branch moves."""

    def __init__(self, reg: Registry) -> None:
        self.path = Path(reg.repo.controldir()) / "mlvc" / "checkout-pending"

    def write(self, branch: str, old: str | None, new: str) -> None:
        self.path.parent.mkdir(exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"branch": branch, "old": old, "new": new}))
        os.replace(tmp, self.path)

    def read(self) -> dict[str, str | None] | None:
        try:
            doc = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def update_worktree(
    reg: Registry,
    changed: Mapping[str, tuple[str | None, str | None]],
    lock: IndexLock,
    modes: Mapping[str, int] | None = None,
) -> None:
    """Bring the changed paths (path -> (old id, new id)) and their index entries to the
    new ids, then rename the index into place (the caller holds ``lock``)."""
    root = Path(reg.repo.path)
    index = reg.repo.open_index()
    for path, (_, blob_id) in sorted(changed.items()):
        key = encode(path)
        if blob_id is None:
            (root / verify_path(path)).unlink(missing_ok=True)
            if key in index:
                del index[key]
            continue
        mode = (modes or {}).get(path, 0o100644)
        if mode == 0o160000:  # a submodule: its own checkout, not ours
            continue
        target = safe_target(root, path, mode)
        if target.is_symlink():
            target.unlink()
        if stat.S_ISLNK(mode):  # a committed symbolic link stays one
            target.unlink(missing_ok=True)
            os.symlink(reg.objects.blob(blob_id).decode("utf-8", "surrogateescape"), target)
        else:  # in chunks; LFS content for an LFS pointer; the exec bit as committed
            checkout_blob(reg, blob_id, target, executable=bool(mode & 0o111))
        entry = index_entry_from_stat(os.lstat(target), blob_id.encode("ascii"))
        index[key] = entry
    lock.write(index)
    lock.commit()


def repair_checkout(reg: Registry) -> bool:
    """Finish (or drop) a checkout a crash interrupted; whether there was one."""
    journal = Journal(reg)
    if not journal.path.exists() or reg.bare:
        return False
    try:
        lock = IndexLock(reg, wait=0).__enter__()  # a live writer holds it: not ours to touch
    except Refused:
        return False
    try:
        return _replay(reg, journal, lock)
    finally:
        lock.__exit__(None, None, None)


def _replay(reg: Registry, journal: Journal, lock: IndexLock) -> bool:
    doc = journal.read()
    branch, old, new = (doc or {}).get("branch"), (doc or {}).get("old"), (doc or {}).get("new")
    tip = reg.branch_tip(branch) if isinstance(branch, str) else None
    head = reg.repo.refs.read_ref(HEAD) or b""
    if not isinstance(new, str) or tip != new or head != b"ref: refs/heads/" + encode(branch or ""):
        journal.remove()  # the branch never moved (or moved on): nothing half-done of ours
        return True
    before = reg.objects.files(reg.objects.commit(old)[1]) if isinstance(old, str) else {}
    after = reg.objects.files(reg.objects.commit(new)[1])
    changed: dict[str, tuple[str | None, str | None]] = {}
    for path in before.keys() | after.keys():
        a, b = before.get(path), after.get(path)
        if (a.sha if a else None) == (b.sha if b else None):
            continue
        changed[path] = (a.sha if a else None, b.sha if b else None)
    # rewriting a file already at its new content is harmless
    update_worktree(reg, changed, lock, {p: e.mode for p, e in after.items()})
    journal.remove()
    return True
