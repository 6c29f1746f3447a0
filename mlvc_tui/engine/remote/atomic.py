"""Promotion, rollback and approval against the server: fetch, plan, one atomic push.

Each attempt fetches, plans against the server's prod (pinned in memory, nothing local
moves), writes the commit and tag objects, and pushes prod (expected old id = the
server's prod the plan was made on), the version tag (must not exist) and the approvals
notes in one atomic push. If the server moved or the tag appeared meanwhile, the attempt
is thrown away and the next one re-plans; after ``attempts`` the write is refused with
the reason. A refusal by the server's hook is final. On success the local tracking refs,
the tag and (when it is behind and can fast-forward) the local prod follow.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mlvc_tui.engine.errors import BadInput, Refused
from mlvc_tui.engine.git.objwrite import add_object
from mlvc_tui.engine.git.remotes import read_ref, update_refs
from mlvc_tui.engine.git.transport import ZERO, is_ancestor
from mlvc_tui.engine.git.writer import move_branch
from mlvc_tui.engine.promotion.approvals import Approval, approve
from mlvc_tui.engine.promotion.gto import stage_tag_objects
from mlvc_tui.engine.promotion.promote import PromotionPlan, apply_promotion, plan_promotion
from mlvc_tui.engine.promotion.records import PromotionRecord
from mlvc_tui.engine.promotion.rollback import RollbackPlan, apply_rollback, plan_rollback
from mlvc_tui.engine.promotion.stages import stage_of
from mlvc_tui.engine.promotion.versions import make_tag
from mlvc_tui.engine.promotion.writes import PromotionDone, pause_point
from mlvc_tui.engine.remote.sync import (
    HEADS,
    NOTES,
    TAGS,
    Progress,
    PushRejected,
    fetch,
    remote_of,
    send,
)

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "ATTEMPTS",
    "RemoteWrite",
    "pushes_by_default",
    "remote_approve",
    "remote_change",
    "remote_promote",
    "remote_rollback",
]

ATTEMPTS = 6
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RemoteWrite:
    """A write that landed on the server (or the plan, for a dry run)."""

    remote: str
    url: str
    attempts: int  # 1 when the first plan landed; more when the server moved meanwhile
    done: PromotionDone | None = None
    plan: PromotionPlan | RollbackPlan | None = None
    value: Any = None  # what a delivery change returned
    approval: Approval | None = None
    added: bool = False

    @property
    def promotion(self) -> PromotionPlan:
        """The plan of a promotion (TypeError for another write)."""
        return _expect(self.plan, PromotionPlan)

    @property
    def rollback(self) -> RollbackPlan:
        """The plan of a rollback (TypeError for another write)."""
        return _expect(self.plan, RollbackPlan)

    @property
    def landed(self) -> PromotionDone:
        """What a promotion or rollback wrote (TypeError for a dry run or another write)."""
        return _expect(self.done, PromotionDone)

    @property
    def approved(self) -> Approval:
        """The approval an approval write added or found (TypeError for another write)."""
        return _expect(self.approval, Approval)


def _expect(value: object, kind: type[_T]) -> _T:
    if not isinstance(value, kind):
        raise TypeError(f"this remote write has no {kind.__name__}")
    return value


def pushes_by_default(reg: Registry) -> bool:
    """Whether prod writes go to the server without asking: `[remote] push = true` in
    mlvc.toml, or a clone without a local prod (nothing local to write)."""
    table = reg.config.raw.get("remote")
    if isinstance(table, dict) and table.get("push") is True:
        return True
    prod = reg.prod
    return prod is not None and reg.remote_only(prod) and reg.remote in reg.remotes()


class _Raced(Exception):
    """The server moved between the fetch and the push: plan again."""


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0.02, 0.1) * attempt)


def _server_tip(reg: Registry, remote: str, branch: str) -> str:
    sha = read_ref(reg.repo, f"refs/remotes/{remote}/{branch}")
    if sha is None:
        raise BadInput(f"the server has no branch {branch!r} to write to")
    return sha


def _notes_update(reg: Registry, server_notes: str | None) -> dict[str, tuple[str, str]]:
    mine = read_ref(reg.repo, NOTES)
    if mine is None or mine == server_notes:
        return {}
    if server_notes is not None and not is_ancestor(reg.repo, server_notes, mine):
        return {}
    return {NOTES: (server_notes or ZERO, mine)}


def _finisher(
    name: str, url: str, server_notes: str | None, progress: Progress | None
) -> Callable[..., PromotionDone]:
    def finish(
        reg: Registry,
        target: str,
        old: str,
        new: str,
        record: PromotionRecord,
        message: str,
        tag_name: str | None,
    ) -> PromotionDone:
        updates = {HEADS + target: (old, new)}
        if tag_name:
            tag = make_tag(tag_name, new, record, message)
            add_object(reg.repo.object_store, tag)
            updates[TAGS + tag_name] = (ZERO, tag.id.decode("ascii"))
        stage_tags = []
        for stage_tag in _stage_tags(reg, target, new, record, message, tag_name):
            add_object(reg.repo.object_store, stage_tag)
            stage_tags.append(stage_tag.name.decode())
            updates[TAGS + stage_tags[-1]] = (ZERO, stage_tag.id.decode("ascii"))
        updates.update(_notes_update(reg, server_notes))
        pause_point("objects")
        try:
            send(reg, name, url, updates, progress)
        except PushRejected as exc:
            if exc.raced:
                raise _Raced(str(exc)) from None
            raise
        return PromotionDone(record, new, tag_name, stage_tags=tuple(stage_tags))

    return finish


def _stage_tags(
    reg: Registry,
    target: str,
    new: str,
    record: PromotionRecord,
    message: str,
    tag_name: str | None,
) -> list[Any]:
    """GTO's stage tags for what the target will serve, pushed with it (as a local
    promotion writes them; stages.py says which commit)."""
    where = stage_of(reg, record, new, tag_name)
    if where is None:
        return []
    artifact, at = where
    return stage_tag_objects(reg, artifact, target, at, record, message)


def _follow_local(reg: Registry, target: str, new: str) -> None:
    """Fast-forward the local target branch to what the server now has, when it can."""
    local = read_ref(reg.repo, HEADS + target)
    if local is None or local == new or not is_ancestor(reg.repo, local, new):
        return
    # a dirty checked-out prod stays where it was; `git merge` brings it later
    with contextlib.suppress(Refused):
        move_branch(
            reg, target, local, new, "mlvc: follow the server", reg.objects.commit(local)[1]
        )


def _attempts(
    reg: Registry,
    remote: str | None,
    attempts: int,
    progress: Progress | None,
    one: Callable[[str, str, str, str, str | None], RemoteWrite],
) -> RemoteWrite:
    name, url = remote_of(reg, remote)
    last = ""
    for attempt in range(1, attempts + 1):
        report = fetch(reg, name, progress)
        prod = reg.prod
        if prod is None:
            raise BadInput("the server has no prod branch (looked for prod, main, master)")
        server_prod = _server_tip(reg, name, prod)
        try:
            with reg.pinned({HEADS + prod: server_prod}, report.server_notes):
                result = one(name, url, prod, server_prod, report.server_notes)
        except _Raced as exc:
            last = str(exc)
            _backoff(attempt)
            continue
        if result.done is not None:
            _follow_local(reg, prod, result.done.commit)
        return replace(result, attempts=attempt)
    raise Refused(
        f"the server kept moving ({attempts} attempts, last: {last}): nothing was changed"
    )


def _without_worktree(plan: PromotionPlan) -> PromotionPlan:
    """The local working tree does not move in a remote write: its gate does not apply."""
    return replace(plan, gates=tuple(g for g in plan.gates if g.name != "worktree"))


def remote_promote(
    reg: Registry,
    branch: str,
    remote: str | None = None,
    *,
    dry_run: bool = False,
    attempts: int = ATTEMPTS,
    progress: Progress | None = None,
    on_output: Callable[[str], None] | None = None,
    now: datetime | None = None,
) -> RemoteWrite:
    """Promote ``branch`` into the server's prod with one atomic push (re-planned on a race)."""

    def one(name: str, url: str, prod: str, server_prod: str, notes: str | None) -> RemoteWrite:
        plan = _without_worktree(plan_promotion(reg, branch, prod, on_output))
        if dry_run or not plan.ok:
            if not plan.ok and not dry_run:
                first = plan.failed[0]
                raise Refused(f"gate {first.name} failed: {first.reason}; nothing was changed")
            return RemoteWrite(name, url, 1, plan=plan)
        done = apply_promotion(reg, plan, now, finisher=_finisher(name, url, notes, progress))
        return RemoteWrite(name, url, 1, done=done, plan=plan)

    return _attempts(reg, remote, attempts, progress, one)


def remote_rollback(
    reg: Registry,
    to: str | None = None,
    remote: str | None = None,
    *,
    dry_run: bool = False,
    attempts: int = ATTEMPTS,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> RemoteWrite:
    """Roll the server's prod back (to ``to``, default the previous version), atomically."""

    def one(name: str, url: str, prod: str, server_prod: str, notes: str | None) -> RemoteWrite:
        plan = plan_rollback(reg, to, prod)
        if dry_run:
            return RemoteWrite(name, url, 1, plan=plan)
        done = apply_rollback(reg, plan, now, finisher=_finisher(name, url, notes, progress))
        return RemoteWrite(name, url, 1, done=done, plan=plan)

    return _attempts(reg, remote, attempts, progress, one)


def remote_approve(
    reg: Registry,
    branch: str,
    remote: str | None = None,
    user: str | None = None,
    *,
    attempts: int = ATTEMPTS,
    progress: Progress | None = None,
) -> RemoteWrite:
    """Approve ``branch``'s commit and push the approvals notes (merged, never lost)."""
    name, url = remote_of(reg, remote)
    last = ""
    for attempt in range(1, attempts + 1):
        report = fetch(reg, name, progress)
        fetched = read_ref(reg.repo, NOTES)
        added, approval = approve(reg, branch, user)
        updates = _notes_update(reg, report.server_notes)
        try:
            send(reg, name, url, updates, progress)
        except PushRejected as exc:
            if added:  # the server said no: the local approval goes too
                update_refs(reg.repo, {NOTES: (read_ref(reg.repo, NOTES), fetched)}, "mlvc")
                reg.refresh()
            if not exc.raced:
                raise
            last = str(exc)
            _backoff(attempt)
            continue
        return RemoteWrite(name, url, attempt, approval=approval, added=added or bool(updates))
    raise Refused(
        f"the approvals kept moving on the server ({attempts} attempts, last: {last}): "
        "nothing was changed on the server"
    )


def remote_change(
    reg: Registry,
    change: Callable[[Registry], Any],
    remote: str | None = None,
    *,
    attempts: int = ATTEMPTS,
    progress: Progress | None = None,
) -> RemoteWrite:
    """Run a prod write (a delivery change) against the server's prod, pushed atomically.

    ``change(reg)`` runs with prod pinned at the server's commit; its branch move becomes
    one push (expected old id = the server's prod); a race re-runs it on the new prod.
    """

    def one(name: str, url: str, prod: str, server_prod: str, notes: str | None) -> RemoteWrite:
        moved: list[str] = []

        def writer(branch: str, old: str | None, new: str) -> None:
            if branch != prod or old is None:
                raise BadInput(f"a remote write moves {prod} only, not {branch}")
            try:
                send(reg, name, url, {HEADS + branch: (old, new)}, progress)
            except PushRejected as exc:
                if exc.raced:
                    raise _Raced(str(exc)) from None
                raise
            moved.append(new)

        reg.branch_writer = writer
        try:
            value = change(reg)
        finally:
            reg.branch_writer = None
        done = None
        if moved:
            done = PromotionDone(_NO_RECORD, moved[-1], None)
        return RemoteWrite(name, url, 1, done=done, value=value)

    return _attempts(reg, remote, attempts, progress, one)


_NO_RECORD = PromotionRecord("delivery", "", "", "", None, "", 0)
