"""Approvals of commits, kept as git notes under ``refs/notes/mlvc-approvals``.

One note per approved commit, one JSON line per approval (``user``, ``time``, ``branch``,
and ``by``: the git identity that made it, which differs from ``user`` only when ``--user``
named someone else; such an approval counts as ``by``'s, never as a second person's);
``git notes --ref=mlvc-approvals show COMMIT`` prints them. The notes ref moves by
compare-and-swap; a lost race re-reads and re-applies (approving is additive).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dulwich.file import FileLocked
from dulwich.notes import NotesTree
from dulwich.objects import Commit, Tree

from mlvc_tui.engine.errors import Refused
from mlvc_tui.engine.git.objects import decode, encode
from mlvc_tui.engine.git.objwrite import RetryingStore, add_object
from mlvc_tui.engine.git.writer import identity

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["NOTES_REF", "Approval", "approvals_of", "approve"]

NOTES_REF = b"refs/notes/mlvc-approvals"
_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class Approval:
    """Someone said yes to one commit."""

    user: str
    time: int
    branch: str
    commit: str
    by: str = ""  # the git identity that recorded it ("" in notes from before: ``user``)

    @property
    def signer(self) -> str:
        """Whose approval this is: the identity that made it."""
        return self.by or self.user

    @property
    def label(self) -> str:
        """``user``, and who recorded it when that was someone else."""
        return self.user if self.signer == self.user else f"{self.user} (recorded by {self.signer})"


def _notes(reg: Registry) -> tuple[bytes | None, NotesTree | None]:
    pin = getattr(reg, "notes_pin", None)
    tip = pin.encode("ascii") if pin else reg.repo.refs.read_ref(NOTES_REF)
    if tip is None:
        return None, None
    commit = reg.repo.object_store[tip]
    assert isinstance(commit, Commit)
    tree = reg.repo.object_store[commit.tree]
    assert isinstance(tree, Tree)
    return tip, NotesTree(tree, RetryingStore(reg.repo.object_store))  # type: ignore[arg-type]


def _parse(note: bytes | None, commit: str) -> list[Approval]:
    out = []
    for line in (note or b"").decode("utf-8", "replace").splitlines():
        try:
            doc = json.loads(line)
            user, when, branch = str(doc["user"]), int(doc["time"]), str(doc["branch"])
            by = str(doc.get("by") or "")  # a dict by now: the keys above were there
            out.append(Approval(user, when, branch, commit, by))
        except (ValueError, KeyError, TypeError, RecursionError):
            continue  # a line written by hand: not an approval
    return out


def approvals_of(reg: Registry, commit: str) -> tuple[Approval, ...]:
    """Every approval of ``commit``, one per identity that made it (the first), oldest first."""
    _, notes = _notes(reg)
    found = _parse(notes.get_note(commit.encode("ascii")) if notes else None, commit)
    seen: dict[str, Approval] = {}
    for a in found:
        seen.setdefault(a.signer, a)
    return tuple(seen.values())


def approve(reg: Registry, branch: str, user: str | None = None) -> tuple[bool, Approval]:
    """Approve the commit ``branch`` points at; (newly added, the approval).

    The approval is the git identity's; ``user`` (someone else's name) is recorded beside
    it, and counts as that identity's approval, not as another person's."""
    commit = reg.resolve(branch)
    by = decode(identity(reg))
    who = user or by
    for _ in range(_ATTEMPTS):
        tip, notes = _notes(reg)
        note = notes.get_note(commit.encode("ascii")) if notes else None
        mine = next((a for a in _parse(note, commit) if a.signer == by), None)
        if mine is not None:
            return False, mine
        approval = Approval(who, int(time.time()), branch, commit, by)
        line = json.dumps(
            {"user": who, "time": approval.time, "branch": branch, "by": by}, ensure_ascii=False
        )
        content = (note or b"").rstrip(b"\n") + (b"\n" if note else b"") + encode(line) + b"\n"
        if notes is None:
            empty = Tree()
            add_object(reg.repo.object_store, empty)
            notes = NotesTree(empty, RetryingStore(reg.repo.object_store))  # type: ignore[arg-type]
        tree = notes.set_note(commit.encode("ascii"), content)
        new = Commit()
        new.tree = tree.id
        new.parents = [tip] if tip else []
        new.author = new.committer = encode(by)  # the git identity that approves
        new.author_time = new.commit_time = approval.time
        new.author_timezone = new.commit_timezone = 0
        new.message = encode(f"mlvc approve {branch} ({commit[:8]})\n")
        add_object(reg.repo.object_store, new)
        try:
            ok = (
                reg.repo.refs.set_if_equals(NOTES_REF, tip, new.id)
                if tip
                else reg.repo.refs.add_if_new(NOTES_REF, new.id)
            )
        except FileLocked:
            ok = False
        if ok:
            return True, approval
        time.sleep(0.01)  # another approval won the race: re-read, re-apply
    raise Refused("the approvals ref kept moving: nothing was changed, try again")
