"""Writing to a branch without checking it out: trees and commits in the object store, then
a compare-and-swap of the ref, then (when that branch is checked out) its working tree.

A write either moves the branch to a commit that holds everything, or moves nothing: objects
written before a failed or interrupted swap are unreachable and harmless to `git fsck`.
"""

from __future__ import annotations

import os
import socket
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from dulwich.file import FileLocked
from dulwich.objects import Blob, Commit, Tree
from dulwich.refs import check_ref_format

from mlvc_tui.engine.errors import BadInput, Refused
from mlvc_tui.engine.git.checkout import IndexLock, Journal, update_worktree
from mlvc_tui.engine.git.files import worktree_holds
from mlvc_tui.engine.git.ids import HEAD, Ref, branch_ref, object_id
from mlvc_tui.engine.git.locks import describe, recover, ref_lock, stale
from mlvc_tui.engine.git.objects import decode, encode
from mlvc_tui.engine.git.objwrite import add_object

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "FileChange",
    "Transaction",
    "check_branch_name",
    "check_path",
    "identity",
    "make_commit",
    "move_branch",
    "pause_point",
    "write_tree",
]

FILE_MODE = 0o100644
_PAUSED: set[str] = set()


@dataclass(frozen=True, slots=True)
class FileChange:
    """A file to write (``blob_id`` set) or delete (``blob_id`` None) at ``path``."""

    path: str
    blob_id: str | None
    mode: int = FILE_MODE


def check_path(path: str) -> str:
    """A repository-relative path, refused when it could escape or touch `.git`."""
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\x00" in path
        or any(p in ("", ".", "..") for p in parts)
        or any(p.lower() == ".git" for p in parts)
    ):
        raise BadInput(f"{path!r} is not a valid path inside the repository")
    return path


def check_branch_name(name: str) -> str:
    """A branch name git accepts, else BadInput."""
    if not name or name.startswith("-") or not check_ref_format(branch_ref(name)):
        raise BadInput(f"{name!r} is not a valid branch name")
    return name


def identity(reg: Registry) -> bytes:
    """``Name <email>`` from GIT_AUTHOR_*, the repository's config, else the login."""
    name, email = os.environ.get("GIT_AUTHOR_NAME"), os.environ.get("GIT_AUTHOR_EMAIL")
    config = reg.repo.get_config_stack()
    try:
        name = name or decode(config.get((b"user",), b"name"))
        email = email or decode(config.get((b"user",), b"email"))
    except KeyError:
        pass
    user = os.environ.get("USER") or "mlvc"
    return encode(f"{name or user} <{email or f'{user}@{socket.gethostname()}'}>")


def write_tree(reg: Registry, base: str | None, changes: list[FileChange]) -> str:
    """The id of ``base`` (a tree id, or None for empty) with ``changes`` applied."""
    store = reg.repo.object_store
    nested: dict[str, list[FileChange]] = {}
    here: dict[str, FileChange] = {}
    for change in changes:
        head, sep, rest = change.path.partition("/")
        if sep:
            nested.setdefault(head, []).append(FileChange(rest, change.blob_id, change.mode))
        else:
            here[head] = change
    entries = {name: (mode, sha) for name, mode, sha in reg.objects.tree(base)} if base else {}
    for name, sub in nested.items():
        old = entries.get(name)
        if old is not None and not stat.S_ISDIR(old[0]):
            raise BadInput(f"{name} is a file on this branch, not a folder")
        subtree = write_tree(reg, old[1] if old else None, sub)
        if reg.objects.tree(subtree):
            entries[name] = (stat.S_IFDIR, subtree)
        else:
            entries.pop(name, None)
    for name, change in here.items():
        if change.blob_id is None:
            entries.pop(name, None)
        elif name in entries and stat.S_ISDIR(entries[name][0]):
            raise BadInput(f"{name} is a folder on this branch, not a file")
        else:
            entries[name] = (change.mode, change.blob_id)
    tree = Tree()
    for name, (mode, sha) in entries.items():
        tree.add(encode(name), mode, object_id(sha))
    add_object(store, tree)
    return tree.id.decode("ascii")


def make_commit(
    reg: Registry, tree: str, parents: list[str], message: str, author: bytes | None = None
) -> str:
    """Write a commit object; its id."""
    commit = Commit()
    commit.tree = object_id(tree)
    commit.parents = [object_id(p) for p in parents]
    commit.author = commit.committer = author or identity(reg)
    commit.author_time = commit.commit_time = int(time.time())
    offset = -time.timezone if not time.localtime().tm_isdst else -time.altzone
    commit.author_timezone = commit.commit_timezone = offset
    commit.message = encode(message.rstrip("\n") + "\n")
    add_object(reg.repo.object_store, commit)
    return commit.id.decode("ascii")


def _disk_matches(reg: Registry, root: Path, path: str, blob_id: str | None) -> bool:
    target = root / path
    if blob_id is None:
        return not target.exists()
    return worktree_holds(reg, target, blob_id)  # an LFS file may hold content, not pointer


def move_branch(
    reg: Registry,
    branch: str,
    old: str | None,
    new: str,
    message: str,
    old_tree: str | None = None,
) -> None:
    """Compare-and-swap ``refs/heads/<branch>`` from ``old`` (None: must not exist) to ``new``.

    When the branch is checked out, the working tree must hold ``old``'s version of every
    path the move changes (else Refused, nothing moved); those paths are then updated.
    """
    ref = branch_ref(check_branch_name(branch))
    writer = getattr(reg, "branch_writer", None)
    if writer is not None:  # a remote write: the server's ref moves (atomic push), not ours
        writer(branch, old, new)
        reg.refresh()
        return
    current = reg.repo.refs.read_ref(ref)
    if current is None and old is not None and reg.remote_only(branch):
        old = old_tree = None  # the first local write of a branch only the remote had
    if (current.decode("ascii", "replace") if current else None) != old:
        _raise_moved(branch, old, current)
    checked_out = not reg.bare and reg.repo.refs.read_ref(HEAD) == b"ref: " + ref
    new_tree = reg.objects.commit(new)[1]
    reg.objects.checked_files(new_tree, branch)  # no branch write makes a hostile tree
    if not checked_out:
        pause_point("swap")  # tests: another writer moves the branch here
        if not _swap(reg, branch, ref, old, new, message):
            _raise_moved(branch, old, reg.repo.refs.read_ref(ref))
        reg.refresh()
        return
    with IndexLock(reg) as lock:  # git's own lock: one writer of this working tree at a time
        current = reg.repo.refs.read_ref(ref)
        if (current.decode("ascii", "replace") if current else None) != old:
            _raise_moved(branch, old, current)
        before = reg.objects.files(old_tree) if old_tree else {}
        after = reg.objects.files(new_tree)
        changed: dict[str, tuple[str | None, str | None]] = {}
        for path in before.keys() | after.keys():
            a, b = before.get(path), after.get(path)
            if (a.sha if a else None) != (b.sha if b else None) or (
                a is not None and b is not None and a.mode != b.mode
            ):
                changed[path] = (a.sha if a else None, b.sha if b else None)
        root = Path(reg.repo.path)
        dirty = sorted(p for p, (a, _) in changed.items() if not _disk_matches(reg, root, p, a))
        if dirty:
            raise Refused(
                f"{branch} is checked out and has uncommitted changes to {dirty[0]}"
                f"{f' and {len(dirty) - 1} more' if len(dirty) > 1 else ''}: "
                "commit or stash them first; nothing was changed"
            )
        journal = Journal(reg)
        journal.write(branch, old, new)
        pause_point("swap")  # tests: another writer moves the branch here
        try:
            ok = _swap(reg, branch, ref, old, new, message)
        except BaseException:
            journal.remove()
            raise
        if not ok:
            journal.remove()
            _raise_moved(branch, old, reg.repo.refs.read_ref(ref))
        pause_point("worktree")  # tests: a crash here is repaired by the next command
        if changed:
            update_worktree(reg, changed, lock, {p: e.mode for p, e in after.items()})
        journal.remove()
    reg.refresh()


def pause_point(step: str) -> None:
    """The crash- and race-test hook: stop here while ``MLVC_PAUSE_FILE`` exists, when
    ``MLVC_PAUSE_AT`` names this step (docs/promotion.md, "Crash testing hook")."""
    if os.environ.get("MLVC_PAUSE_AT") != step or not os.environ.get("MLVC_PAUSE_FILE"):
        return
    if step in _PAUSED:
        return  # once per process: a retry runs through
    _PAUSED.add(step)
    marker = Path(os.environ["MLVC_PAUSE_FILE"])
    marker.write_text(step)
    while marker.exists():
        time.sleep(0.01)


def _swap(reg: Registry, branch: str, ref: Ref, old: str | None, new: str, message: str) -> bool:
    """The compare-and-swap itself; a lock left by a writer that is provably gone is
    removed (once), any other lock refuses, naming the lock file and its age."""
    who = identity(reg)
    for attempt in range(2):
        try:
            if old is None:
                return bool(
                    reg.repo.refs.add_if_new(
                        ref, object_id(new), committer=who, message=encode(message)
                    )
                )
            return bool(
                reg.repo.refs.set_if_equals(
                    ref,
                    object_id(old),
                    object_id(new),
                    committer=who,
                    message=encode(message),
                )
            )
        except FileLocked:
            lock = ref_lock(reg.repo.commondir(), decode(ref))
            if attempt == 0 and lock is not None and recover(lock):
                continue
            where = f" ({describe(lock)})" if lock is not None else ""
            hint = "; `mlvc doctor --fix` removes it" if lock is not None and stale(lock) else ""
            raise Refused(
                f"{branch} is being written by another process{where}: nothing was changed, "
                f"try again{hint}"
            ) from None
    return False


def _raise_moved(branch: str, old: str | None, now: bytes | None) -> None:
    found = now.decode("ascii", "replace")[:8] if now else "nothing"
    raise Refused(
        f"{branch} moved meanwhile (expected {old[:8] if old else 'no branch'}, "
        f"found {found}): nothing was changed, try again"
    )


class Transaction:
    """Several file writes to one branch as one commit: ``with reg.transaction(...) as tx``.

    The commit happens when the block ends without an exception; nothing is written if it
    raises. The branch moves by compare-and-swap from the commit it had when the block began;
    a branch that does not exist yet starts at ``start`` (a ref), or as a root commit.
    """

    def __init__(self, reg: Registry, branch: str, message: str, start: str | None = None) -> None:
        self.reg = reg
        self.branch = check_branch_name(branch)
        self.message = message
        reg.refresh()
        self.base = reg.branch_tip(branch)
        self.new_branch = self.base is None
        self.parent = self.base or (reg.resolve(start) if start else None)
        self.changes: dict[str, FileChange] = {}
        self.commit_id: str | None = None

    def put(self, path: str, data: bytes, mode: int = FILE_MODE) -> str:
        """Stage ``data`` at ``path``; the blob id."""
        blob = Blob.from_string(data)
        add_object(self.reg.repo.object_store, blob)
        return self.put_blob(path, blob.id.decode("ascii"), mode)

    def put_blob(self, path: str, blob_id: str, mode: int = FILE_MODE) -> str:
        """Stage an existing blob at ``path``."""
        self.changes[check_path(path)] = FileChange(path, blob_id, mode)
        return blob_id

    def delete(self, path: str) -> None:
        """Stage the removal of ``path``."""
        self.changes[check_path(path)] = FileChange(path, None)

    def commit(self) -> str:
        """Write the commit and move the branch; the new commit id."""
        self.reg.check_writes(self.branch, {p: c.blob_id for p, c in self.changes.items()})
        base_tree = self.reg.objects.commit(self.parent)[1] if self.parent else None
        tree = write_tree(self.reg, base_tree, list(self.changes.values()))
        if tree == base_tree and not self.new_branch:
            raise Refused(f"nothing to commit on {self.branch}: the files are already there")
        parents = [self.parent] if self.parent else []
        self.commit_id = make_commit(self.reg, tree, parents, self.message)
        move_branch(
            self.reg,
            self.branch,
            self.base,
            self.commit_id,
            f"mlvc: {self.message}",
            old_tree=self.reg.objects.commit(self.base)[1] if self.base else None,
        )
        return self.commit_id

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if t is None:
            self.commit()
