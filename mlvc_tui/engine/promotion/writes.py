"""Writing a promotion or a rollback: objects first, then the ref, then the tag ref.

Order of writes: the commit and the tag object (unreachable until a ref names them), then
the target ref by compare-and-swap (which also updates a clean checked-out working tree,
and refuses a dirty one), then the tag ref. A crash between any two steps leaves the target
at its old or new commit; a missing tag is recreated from the commit's record by the next
command (versions.repair_tags), and so are GTO's stage tags (stages.py), which come last.
``MLVC_PAUSE_AT=<step>`` makes a process stop at a step (writing ``MLVC_PAUSE_FILE``
and waiting until it is deleted), so tests can kill it there: steps ``gates`` (promotions
only), ``objects``, ``moved``, ``tagged``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from mlvc_tui.engine.errors import Refused
from mlvc_tui.engine.git.commits import read_ref, write_commit_object
from mlvc_tui.engine.git.objects import decode
from mlvc_tui.engine.git.objwrite import add_object
from mlvc_tui.engine.git.writer import identity, move_branch, pause_point
from mlvc_tui.engine.promotion.records import PromotionRecord
from mlvc_tui.engine.promotion.stages import repair_stage_tags, write_stage_tags
from mlvc_tui.engine.promotion.versions import make_tag, repair_tags, version_history
from mlvc_tui.engine.values import MetricDiff, Verdict

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "Finisher",
    "PromotionDone",
    "finish",
    "pause_point",
    "recorded_metrics",
    "stamp",
    "write_commit",
]


@dataclass(frozen=True, slots=True)
class PromotionDone:
    """A promotion or rollback that happened."""

    record: PromotionRecord
    commit: str
    tag: str | None  # the tag written (None: none, or a tag of that name already existed)
    repaired: tuple[str, ...] = ()  # tags an earlier interrupted promotion had left out
    stage_tags: tuple[str, ...] = ()  # GTO's stage tags written (gto.py)


# (reg, target, old, new, record, message, tag name) -> what was done
Finisher = Callable[
    ["Registry", str, str, str, PromotionRecord, str, "str | None"], "PromotionDone"
]


def stamp(reg: Registry, now: datetime | None = None) -> tuple[str, int, int]:
    """(user, POSIX time, UTC offset) of a record: now, or a given aware datetime."""
    user = decode(identity(reg))
    if now is not None:
        offset = now.utcoffset()
        return user, int(now.timestamp()), int(offset.total_seconds()) if offset else 0
    local = -time.timezone if not time.localtime().tm_isdst else -time.altzone
    return user, int(time.time()), local


def recorded_metrics(
    diff: MetricDiff, primary: str | None
) -> dict[str, tuple[float | None, float | None]]:
    """The metrics a record keeps: the primary one, and every one that changed."""
    return {
        r.key: (r.a, r.b) for r in diff.rows if r.key == primary or r.verdict is not Verdict.SAME
    }


def write_commit(
    reg: Registry, tree: str, parents: list[str], record: PromotionRecord, message: str
) -> str:
    """The commit object of a record (author, committer and time from the record)."""
    return write_commit_object(
        reg.repo, tree, parents, record.user, record.time, record.tz_offset, message
    )


def finish(
    reg: Registry,
    target: str,
    old: str,
    new: str,
    record: PromotionRecord,
    message: str,
    tag_name: str | None,
) -> PromotionDone:
    """The writes after the commit object: tag object, compare-and-swap, tag ref, repairs."""
    tag = make_tag(tag_name, new, record, message) if tag_name else None
    if tag is not None:
        add_object(reg.repo.object_store, tag)
    pause_point("objects")
    try:
        move_branch(
            reg,
            target,
            old,
            new,
            f"mlvc: {message.splitlines()[0]}",
            old_tree=reg.objects.commit(old)[1],
        )
    except Refused:
        now = read_ref(reg.repo, f"refs/heads/{target}")
        if now is not None and now != old:  # the "dirty" files were its work
            raise Refused(
                f"{target} moved meanwhile (expected {old[:8]}, found "
                f"{now[:8]}): nothing was changed, try again"
            ) from None
        raise
    pause_point("moved")
    written = None
    if tag is not None and reg.repo.refs.add_if_new(b"refs/tags/" + tag.name, tag.id):
        written = tag_name
        reg.refresh()
    pause_point("tagged")
    entries = version_history(reg, target, stages=False)
    repaired = tuple(t for t in repair_tags(reg, entries) if t != written)
    before = tuple(e for e in entries if e.commit.id != new)  # the earlier writes
    repaired += repair_stage_tags(reg, target, before)
    stage_tags = write_stage_tags(reg, record, new, message)
    return PromotionDone(record, new, written, repaired, stage_tags)
