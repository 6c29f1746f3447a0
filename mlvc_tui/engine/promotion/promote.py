"""Promotion (merge-to-prod): a plan (merge in memory, gates, version), then the writes.

``plan_promotion`` changes nothing; ``apply_promotion`` writes the plan's merge commit and
tag in the order promotion_writes.py describes, moving the target by compare-and-swap from
the commit the plan was made against. The check gate may run inside the plan, or after it
(``run_check=False``, then ``run_plan_check``) so that a UI can show the other gates first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from mlvc_tui.engine import metrics as metric_files
from mlvc_tui.engine.errors import BadInput, Refused
from mlvc_tui.engine.git.merge import MergeResult, merge_commits, write_merge_tree
from mlvc_tui.engine.promotion.approvals import approvals_of
from mlvc_tui.engine.promotion.checkrun import OutputSink, run_check
from mlvc_tui.engine.promotion.gates import approval_gate, metric_gates
from mlvc_tui.engine.promotion.records import GateResult, PromotionRecord, render_message
from mlvc_tui.engine.promotion.repo_gates import (
    has_model,
    keep_owned,
    merge_gate,
    result_metrics,
    stage_gate,
    target_config,
    target_settings,
    worktree_gate,
)
from mlvc_tui.engine.promotion.rollback import RESTORED_KINDS
from mlvc_tui.engine.promotion.sandbox import check_code_changes
from mlvc_tui.engine.promotion.versions import (
    bump,
    compute_bump,
    free_version,
    latest_version,
    model_name,
)
from mlvc_tui.engine.promotion.writes import (
    Finisher,
    PromotionDone,
    finish,
    pause_point,
    recorded_metrics,
    stamp,
    write_commit,
)
from mlvc_tui.engine.validate import is_checked, problem
from mlvc_tui.engine.values import CommitInfo, MetricDiff

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "CHECK_PENDING",
    "PromotionDone",
    "PromotionPlan",
    "apply_promotion",
    "paths_summary",
    "plan_promotion",
    "run_plan_check",
]

CHECK_PENDING = "waiting to run"


@dataclass(frozen=True, slots=True)
class PromotionPlan:
    """What promoting ``branch`` into ``target`` would do, and whether the gates let it."""

    branch: str
    target: str
    candidate: CommitInfo
    target_commit: str
    merge: MergeResult
    diff: MetricDiff  # the target now against the target after the promotion
    gates: tuple[GateResult, ...]
    primary: str | None
    model: str | None = None
    version: str | None = None  # versions and tags are given on prod only
    previous: str | None = None
    bump: str | None = None
    bump_reason: str = ""
    tag: str | None = None
    approvals: tuple[str, ...] = ()
    check: tuple[str, float] | None = None  # (command, timeout) while the check has not run
    kept: tuple[str, ...] = ()  # environment-owned paths that keep the target's content
    replaced: tuple[str, ...] = ()  # paths whose content on the target changes
    check_changes: tuple[str, ...] = ()  # files the check executes that the candidate changes

    @property
    def ok(self) -> bool:
        return self.check is None and all(g.passed for g in self.gates)

    @property
    def failed(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if not g.passed and g.reason != CHECK_PENDING)


def paths_summary(paths: tuple[str, ...], limit: int = 4) -> str:
    """``a, b, c and 5 more`` (``nothing`` for none): one line both faces print."""
    if not paths:
        return "nothing"
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(paths[:limit]) + more


def _again(
    reg: Registry, merge: MergeResult, target_files: dict[str, tuple[int, str]]
) -> MergeResult:
    """A candidate already merged into the target (up to date), whose model a rollback took
    away since: the target's files with the candidate's models, metrics and data again.
    Anything else up to date stays so (nothing to promote)."""
    if not merge.up_to_date:
        return merge

    def restored(path: str) -> bool:
        return reg.config.kind_of(path) in RESTORED_KINDS or path == "data"

    theirs = reg.objects.files(reg.objects.commit(merge.theirs)[1])
    files = {p: e for p, e in target_files.items() if not restored(p)}
    files.update({p: (e.mode, e.sha) for p, e in theirs.items() if restored(p)})
    if files == target_files:
        return merge
    return MergeResult(merge.base, merge.ours, merge.theirs, files)


def _files_gate(
    reg: Registry,
    target: str,
    merge: MergeResult,
    files: dict[str, tuple[int, str]],
    target_files: dict[str, tuple[int, str]],
) -> GateResult | None:
    """A failing gate when the result would put a broken mlvc.toml, delivery.toml or
    lineage record on the target (None: every such file it changes is sound)."""
    exists = lambda b: reg.branch_tip(b) is not None  # noqa: E731
    for path in sorted(files):
        if is_checked(path) and files[path] != target_files.get(path):
            why = problem(path, merge.blob(reg, files[path][1]), target, exists)
            if why is not None:
                return GateResult("files", False, why)
    return None


def plan_promotion(
    reg: Registry,
    branch: str,
    target: str | None = None,
    on_output: OutputSink | None = None,
    *,
    run_check: bool = True,
    run_changed: bool = False,
) -> PromotionPlan:
    """Merge ``branch`` into ``target`` (default prod) in memory and run every gate."""
    reg.refresh()
    target = target or reg.prod
    if target is None:
        raise BadInput("no prod branch (looked for prod, main, master): name one with --to")
    target_tip = reg.branch_tip(target)
    if target_tip is None:
        raise BadInput(f"no branch named {target!r} to promote into")
    candidate = reg.commit(branch)
    if candidate.id == target_tip or branch == target:
        raise BadInput(f"{branch} is {target} itself: name another branch to promote")
    reg.objects.checked_files(reg.objects.commit(candidate.id)[1], branch)
    reg.objects.checked_files(reg.objects.commit(target_tip)[1], target)
    target_tree = reg.objects.commit(target_tip)[1]
    target_files = {p: (e.mode, e.sha) for p, e in reg.objects.files(target_tree).items()}
    merge, kept = keep_owned(
        _again(reg, merge_commits(reg, target_tip, candidate.id), target_files),
        target_files,
        target_config(reg, target_tree),
    )
    if merge.up_to_date or (not merge.conflicts and merge.files == target_files):
        raise Refused(
            f"{target} already has everything on {branch} ({candidate.short_id}): "
            "nothing to promote"
        )
    settings, rules = target_settings(reg, target, target_tree)
    cand_tree = reg.objects.commit(candidate.id)[1]
    files = (
        dict(merge.files)
        if not merge.conflicts
        else {p: (e.mode, e.sha) for p, e in reg.objects.files(cand_tree).items()}
    )
    after = result_metrics(reg, merge) if not merge.conflicts else reg.metrics_of_tree(cand_tree)
    before = reg.metrics_of_tree(target_tree)
    primary = reg.primary_metric()
    gates = [merge_gate(branch, target, merge)]
    gates += metric_gates(
        settings, reg.config, primary, has_model(reg, files), after, before, target
    )
    approvers = tuple(a.label for a in approvals_of(reg, candidate.id))
    if settings.approvals:
        gates.append(approval_gate(settings, approvers, candidate.id))
    if settings.require_stage:
        gates.append(stage_gate(reg, settings.require_stage, target, candidate))
    if (files_gate := _files_gate(reg, target, merge, files, target_files)) is not None:
        gates.append(files_gate)
    if (tree_gate := worktree_gate(reg, target, target_tree, files)) is not None:
        gates.append(tree_gate)
    check = None
    check_changes: tuple[str, ...] = ()
    if settings.check and not merge.conflicts:
        check_changes = check_code_changes(
            settings.check,
            merge.files,
            target_files,
            lambda entry: merge.blob(reg, entry[1]),
        )
    if settings.check and merge.conflicts:
        gates.append(GateResult("check", False, "not run: the merge has code conflicts"))
    elif settings.check:
        gates.append(GateResult("check", False, CHECK_PENDING))
        check = (settings.check, settings.check_timeout)
    diff = MetricDiff(target, branch, metric_files.diff_metrics(before, after, reg.config))
    plan = PromotionPlan(
        branch,
        target,
        candidate,
        target_tip,
        merge,
        diff,
        tuple(gates),
        primary,
        approvals=approvers,
        check=check,
        kept=kept,
        replaced=tuple(
            sorted(
                p for p in files.keys() | target_files.keys() if files.get(p) != target_files.get(p)
            )
        ),
        check_changes=check_changes,
    )
    if target == reg.prod:
        model = model_name(reg, target)
        prev = latest_version(reg, model, target)
        old = {p: sha for p, (_, sha) in target_files.items()}
        kind, why = compute_bump(
            reg,
            rules,
            old,
            {p: sha for p, (_, sha) in files.items()},
            before,
            after,
            primary,
            lambda sha: merge.blob(reg, sha),
        )
        version = free_version(reg, model, bump(prev, kind))
        plan = replace(
            plan,
            model=model,
            version=version,
            tag=f"{model}@v{version}",
            previous=".".join(map(str, prev)) if prev else None,
            bump=kind if prev else "first",
            bump_reason=why if prev else "the first version of this model",
        )
    return run_plan_check(reg, plan, on_output, run_changed=run_changed) if run_check else plan


def run_plan_check(
    reg: Registry,
    plan: PromotionPlan,
    on_output: OutputSink | None = None,
    cancel: threading.Event | None = None,
    *,
    run_changed: bool = False,
) -> PromotionPlan:
    """Run the plan's check command (when it has one still to run); the completed plan.

    When the candidate changes files the check executes (``plan.check_changes``), the
    check runs only with ``run_changed`` (the user said so) and in a sandbox; otherwise
    its gate fails saying why. Setting ``cancel`` stops the command; the gate then fails.
    """
    if plan.check is None:
        return plan
    command, timeout = plan.check
    env = {"MLVC_SOURCE": plan.branch, "MLVC_TARGET": plan.target, "MLVC_COMMIT": plan.candidate.id}
    result = run_check(
        reg, plan.merge, command, timeout, on_output, env, cancel, plan.check_changes, run_changed
    )
    gates = tuple(result if g.name == "check" else g for g in plan.gates)
    return replace(plan, gates=gates, check=None)


def apply_promotion(
    reg: Registry,
    plan: PromotionPlan,
    now: datetime | None = None,
    finisher: Finisher = finish,
) -> PromotionDone:
    """Do the promotion a plan describes; Refused when a gate failed or the target moved.

    ``now`` (an aware datetime) fixes the record's time, for reproducible ids in tests.
    ``finisher`` does the writes after the commit object (default: local refs; a remote
    write pushes them atomically instead).
    """
    if plan.check is not None:
        raise Refused("the check gate has not run yet: nothing was changed")
    if not plan.ok:
        first = plan.failed[0]
        raise Refused(f"gate {first.name} failed: {first.reason}; nothing was changed")
    pause_point("gates")
    user, when, offset = stamp(reg, now)
    record = PromotionRecord(
        kind="promotion",
        target=plan.target,
        source=plan.branch,
        source_commit=plan.candidate.id,
        target_commit=plan.target_commit,
        user=user,
        time=when,
        tz_offset=offset,
        model=plan.model,
        version=plan.version,
        previous=plan.previous,
        bump=plan.bump,
        bump_reason=plan.bump_reason,
        tag=plan.tag,
        gates=plan.gates,
        approvals=plan.approvals,
        metrics=recorded_metrics(plan.diff, plan.primary),
        resolved=plan.merge.resolved,
    )
    message = render_message(record, plan.primary)
    tree = write_merge_tree(reg, plan.merge)
    commit = write_commit(reg, tree, [plan.target_commit, plan.candidate.id], record, message)
    return finisher(reg, plan.target, plan.target_commit, commit, record, message, plan.tag)
