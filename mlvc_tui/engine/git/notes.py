"""Merging two histories of a notes ref (approvals made on two machines at once).

Notes are lines; a merge keeps every line of both sides once, in order (ours first), so
no approval is ever lost. The merge commit has both tips as parents, which makes the
server's ref move a fast-forward when it is pushed.
"""

from __future__ import annotations

import time

from dulwich.notes import NotesTree
from dulwich.objects import Commit, Tree
from dulwich.repo import Repo

from mlvc_tui.engine.git.ids import object_id
from mlvc_tui.engine.git.objects import encode
from mlvc_tui.engine.git.objwrite import RetryingStore, add_object

__all__ = ["merge_notes", "notes_lines", "read_note", "write_note"]


def _tree(repo: Repo, tip: str) -> NotesTree:
    commit = repo.object_store[object_id(tip)]
    assert isinstance(commit, Commit)
    tree = repo.object_store[commit.tree]
    assert isinstance(tree, Tree)
    return NotesTree(tree, RetryingStore(repo.object_store))  # type: ignore[arg-type]


def read_note(repo: Repo, tip: str | None, obj: str) -> bytes | None:
    """The note on ``obj`` in the notes commit ``tip`` (None: no notes yet, or no note)."""
    if tip is None:
        return None
    note = _tree(repo, tip).get_note(obj.encode("ascii"))
    return bytes(note) if note is not None else None


def write_note(
    repo: Repo, tip: str | None, obj: str, content: bytes, who: str, when: int, message: str
) -> str:
    """A notes commit on top of ``tip`` (None: the first) with ``obj``'s note set to
    ``content``; its id (the notes ref is not moved)."""
    if tip is None:
        empty = Tree()
        add_object(repo.object_store, empty)
        notes = NotesTree(empty, RetryingStore(repo.object_store))  # type: ignore[arg-type]
    else:
        notes = _tree(repo, tip)
    tree = notes.set_note(obj.encode("ascii"), content)
    commit = Commit()
    commit.tree = tree.id
    commit.parents = [object_id(tip)] if tip else []
    commit.author = commit.committer = encode(who)
    commit.author_time = commit.commit_time = when
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = encode(message.rstrip("\n") + "\n")
    add_object(repo.object_store, commit)
    return commit.id.decode("ascii")


def notes_lines(repo: Repo, tip: str) -> dict[str, bytes]:
    """Annotated object id -> its note, for a notes commit."""
    notes = _tree(repo, tip)
    out = {}
    for obj, note_sha in notes.list_notes():
        blob = repo.object_store[note_sha]
        out[obj.decode("ascii")] = blob.as_raw_string()
    return out


def merge_notes(repo: Repo, ours: str, theirs: str, who: str, message: str) -> str:
    """A notes commit holding every line of ``ours`` and ``theirs``; its id."""
    mine, other = notes_lines(repo, ours), notes_lines(repo, theirs)
    notes = _tree(repo, ours)
    for obj, data in other.items():
        have = mine.get(obj, b"")
        lines = have.splitlines()
        extra = [line for line in data.splitlines() if line not in lines]
        if not extra:
            continue
        merged = b"\n".join([*lines, *extra]) + b"\n"
        notes.set_note(obj.encode("ascii"), merged)
    commit = Commit()
    commit.tree = notes._tree.id
    commit.parents = [object_id(ours), object_id(theirs)]
    commit.author = commit.committer = encode(who)
    commit.author_time = commit.commit_time = int(time.time())
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = encode(message.rstrip("\n") + "\n")
    add_object(repo.object_store, commit)
    return commit.id.decode("ascii")
