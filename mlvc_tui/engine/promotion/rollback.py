"""Rollback: a new commit on the target that restores an earlier version's model artifacts.

History is never rewritten. The files restored are the version's models/, metrics/ and
data/ (the model and its contract); code, logs and monitoring stay as they are, so the
record of what happened in production survives the rollback. The commit carries a record
like a promotion's (kind "rollback") and is written by the same ordered steps. The target's
check gate runs on the restored files first. A rollback to another MAJOR version (a data
schema or target change) says so (``crosses_major``), and so does passing over versions
whose artifacts are the current ones (``skipped``); the faces ask before doing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from mlvc_tui.engine import metrics as metric_files
from mlvc_tui.engine.errors import BadInput, Refused
from mlvc_tui.engine.git.merge import MergeResult, write_merge_tree
from mlvc_tui.engine.promotion.checkrun import OutputSink, run_check
from mlvc_tui.engine.promotion.records import GateResult, PromotionRecord, render_message
from mlvc_tui.engine.promotion.repo_gates import result_metrics, target_settings
from mlvc_tui.engine.promotion.versions import VersionEntry, parse_version, version_history
from mlvc_tui.engine.promotion.writes import (
    Finisher,
    PromotionDone,
    finish,
    recorded_metrics,
    stamp,
    write_commit,
)
from mlvc_tui.engine.values import MetricDiff

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["RESTORED_KINDS", "RollbackPlan", "apply_rollback", "plan_rollback"]

RESTORED_KINDS = ("models", "metrics", "data")


@dataclass(frozen=True, slots=True)
class RollbackPlan:
    """What rolling ``target`` back to ``to`` would change."""

    target: str
    target_commit: str
    current: VersionEntry | None  # the newest promotion or rollback on the target
    to: VersionEntry
    result: MergeResult  # the files after the rollback
    changed: tuple[str, ...]  # paths restored
    diff: MetricDiff
    primary: str | None
    check: GateResult | None = None  # the target's check gate on the restored files
    skipped: tuple[str, ...] = ()  # newer versions passed over: same artifacts as the current
    crosses_major: bool = False  # to another MAJOR version: the model's contract changes

    @property
    def warning(self) -> str | None:
        """What a person must know before saying yes (None: nothing unusual)."""
        if not self.crosses_major:
            return None
        now = self.current.version if self.current else "?"
        passed = (
            f"; {', '.join(self.skipped)} {'has' if len(self.skipped) == 1 else 'have'} the "
            f"same artifacts as {now} and {'is' if len(self.skipped) == 1 else 'are'} skipped"
            if self.skipped
            else ""
        )
        return (
            f"from {now} to {self.to.version} crosses a MAJOR version (a data schema or "
            f"target change): the restored model may not fit today's data{passed}"
        )


def _major(version: str | None) -> int | None:
    parsed = parse_version(version or "")
    return parsed[0] if parsed else None


def _restored(reg: Registry, path: str) -> bool:
    return reg.config.kind_of(path) in RESTORED_KINDS or path == "data"


def _find(entries: tuple[VersionEntry, ...], wanted: str, target: str) -> VersionEntry:
    text = wanted.rsplit("@", 1)[-1]
    version = parse_version(text)
    if version is None:
        raise BadInput(f"{wanted!r} is not a version like 1.2.0 or model@v1.2.0")
    for e in entries:
        if e.kind != "rollback" and e.version and parse_version(e.version) == version:
            return e
    known = ", ".join(dict.fromkeys(e.version for e in entries if e.version)) or "none"
    raise BadInput(f"no version {text.removeprefix('v')} on {target} (versions: {known})")


def _restore(
    reg: Registry, now: dict[str, tuple[int, str]], entry: VersionEntry
) -> tuple[dict[str, tuple[int, str]], tuple[str, ...]]:
    """The target's files with ``entry``'s restored, and the paths that changes."""
    where = entry.tag or entry.commit.id[:8]
    then = reg.objects.checked_files(reg.objects.commit(entry.commit.id)[1], where)
    files = {p: v for p, v in now.items() if not _restored(reg, p)}
    files.update({p: (e.mode, e.sha) for p, e in then.items() if _restored(reg, p)})
    return files, tuple(sorted(p for p in now.keys() | files.keys() if now.get(p) != files.get(p)))


def plan_rollback(
    reg: Registry,
    to: str | None = None,
    target: str | None = None,
    on_output: OutputSink | None = None,
    *,
    check: bool = True,
) -> RollbackPlan:
    """Plan restoring version ``to`` on ``target``, running the target's check gate on the
    restored files (unless ``check`` is False).

    Default: the newest version promoted before the current one whose artifacts differ.
    """
    reg.refresh()
    target = target or reg.prod
    if target is None:
        raise BadInput("no prod branch (looked for prod, main, master): name one")
    tip = reg.branch_tip(target)
    if tip is None:
        raise BadInput(f"no branch named {target!r}")
    entries = tuple(e for e in version_history(reg, target, stages=False) if e.version)
    if not entries:
        raise Refused(f"{target} has no versions yet: nothing to roll back to")
    current = entries[0]
    tree = reg.objects.commit(tip)[1]
    now = {p: (e.mode, e.sha) for p, e in reg.objects.checked_files(tree, target).items()}
    skipped: tuple[str, ...] = ()
    chosen: VersionEntry | None
    if to is not None:
        chosen = _find(entries, to, target)
    else:  # the newest version promoted before the current one, with other artifacts
        promoted = [e for e in entries if e.kind != "rollback"]
        at = next((i for i, e in enumerate(promoted) if e.version == current.version), -1)
        earlier = [e for e in promoted[at + 1 :] if e.version != current.version]
        chosen = next((e for e in earlier if _restore(reg, now, e)[1]), None)
        skipped = tuple(
            dict.fromkeys(
                e.version for e in earlier[: earlier.index(chosen) if chosen else 0] if e.version
            )
        )
        if chosen is None:
            raise Refused(
                f"{target} has no earlier version with other artifacts than "
                f"{current.version}: nothing to roll back to"
            )
    files, changed = _restore(reg, now, chosen)
    if not changed:
        raise Refused(
            f"{target} already holds the artifacts of {chosen.version}: nothing to roll back"
        )
    reg.check_writes(target, {p: files[p][1] if p in files else None for p in changed})
    result = MergeResult(None, tip, chosen.commit.id, files)
    before = reg.metrics_of_tree(tree)
    diff = MetricDiff(
        target,
        chosen.tag or chosen.version or "",
        metric_files.diff_metrics(before, result_metrics(reg, result), reg.config),
    )
    gate = None
    settings, _ = target_settings(reg, target, tree)
    if check and settings.check:
        env = {"MLVC_SOURCE": chosen.tag or chosen.version or "", "MLVC_TARGET": target}
        env["MLVC_COMMIT"] = chosen.commit.id
        gate = run_check(reg, result, settings.check, settings.check_timeout, on_output, env)
    return RollbackPlan(
        target,
        tip,
        current,
        chosen,
        result,
        changed,
        diff,
        reg.primary_metric(),
        gate,
        skipped,
        _major(current.version) != _major(chosen.version),
    )


def apply_rollback(
    reg: Registry, plan: RollbackPlan, now: datetime | None = None, finisher: Finisher = finish
) -> PromotionDone:
    """Write the rollback commit and move the target by compare-and-swap; Refused when the
    target's check gate failed on the restored files."""
    if plan.check is not None and not plan.check.passed:
        raise Refused(f"gate check failed: {plan.check.reason}; nothing was changed")
    to = plan.to
    user, when, offset = stamp(reg, now)
    record = PromotionRecord(
        kind="rollback",
        target=plan.target,
        source=to.tag or f"v{to.version}",
        source_commit=to.commit.id,
        target_commit=plan.target_commit,
        user=user,
        time=when,
        tz_offset=offset,
        model=to.tag.split("@", 1)[0] if to.tag else None,
        version=to.version,
        previous=plan.current.version if plan.current else None,
        metrics=recorded_metrics(plan.diff, plan.primary),
    )
    message = render_message(record, plan.primary)
    tree = write_merge_tree(reg, plan.result)
    commit = write_commit(reg, tree, [plan.target_commit], record, message)
    return finisher(reg, plan.target, plan.target_commit, commit, record, message, None)
