"""Promotion (merge-to-prod): plan = merge + gates + version; apply = the writes, in order.

Order of writes: the merge commit and the tag object (unreachable until a ref names them),
then the target ref by compare-and-swap (which also updates a clean checked-out working
tree, and refuses a dirty one), then the tag ref. A crash between any two steps leaves the
target at its old or new commit; a missing tag is recreated from the commit's record by the
next command (versions.repair_tags). ``MLVC_PAUSE_AT=<step>`` makes a process stop at a
step (writing ``MLVC_PAUSE_FILE`` and waiting until it is deleted), so tests can kill it
there: steps ``gates``, ``objects``, ``moved``, ``tagged``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dulwich.graph import can_fast_forward
from dulwich.objects import Commit

from . import metrics as metric_files
from .approvals import approvals_of
from .checkrun import OutputSink, run_check
from .config import parse_config
from .errors import BadInput, Refused
from .gates import GateSettings, approval_gate, metric_gates
from .merge import MergeResult, merge_commits, write_merge_tree
from .objects import GITLINK, decode, encode
from .objwrite import add_object
from .records import GateResult, PromotionRecord, render_message
from .values import CommitInfo, MetricDiff, Metrics, Verdict
from .versions import (
    VersionRules,
    bump,
    compute_bump,
    latest_version,
    make_tag,
    model_name,
    repair_tags,
    version_history,
)
from .worktree import git_blob_id
from .writer import identity, move_branch

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["PromotionDone", "PromotionPlan", "apply_promotion", "pause_point", "plan_promotion"]


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

    @property
    def ok(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def failed(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if not g.passed)


@dataclass(frozen=True, slots=True)
class PromotionDone:
    """A promotion or rollback that happened."""

    record: PromotionRecord
    commit: str
    tag: str | None  # the tag written (None: none, or a tag of that name already existed)
    repaired: tuple[str, ...] = ()  # tags an earlier interrupted promotion had left out


def pause_point(step: str) -> None:
    """The crash-test hook: stop here while ``MLVC_PAUSE_FILE`` exists (see module doc)."""
    if os.environ.get("MLVC_PAUSE_AT") != step or not os.environ.get("MLVC_PAUSE_FILE"):
        return
    marker = Path(os.environ["MLVC_PAUSE_FILE"])
    marker.write_text(step)
    while marker.exists():
        time.sleep(0.01)


def model_stem(reg: Registry) -> str | None:
    return Path(reg.config.model).name.split(".", 1)[0] if reg.config.model else None


def result_metrics(reg: Registry, merge: MergeResult) -> Metrics:
    """The metrics of the merge result, read like a commit's (registry.metrics_of_tree)."""
    files = [(p, merge.blob(reg, sha)) for p, (mode, sha) in sorted(merge.files.items())
             if p.startswith("metrics/") and mode != GITLINK
             and p.lower().endswith(metric_files.METRIC_SUFFIXES)]
    return metric_files.merge_files(files, model_stem(reg))


def _has_model(reg: Registry, files: dict[str, tuple[int, str]] | object) -> bool:
    models = [p for p in files if reg.config.kind_of(p) == "models"  # type: ignore[attr-defined]
              and not p.endswith(".lineage.json")]
    if reg.config.model:
        return reg.config.model in models
    return any(p.startswith("models/model.") for p in models) or len(models) == 1


def target_settings(reg: Registry, target: str, tree: str) -> tuple[GateSettings, VersionRules]:
    """The gates and version rules in the target's own mlvc.toml (defaults without one)."""
    hit = reg.objects.lookup(tree, "mlvc.toml")
    raw = parse_config(reg.objects.blob(hit[1])).raw if hit else {}
    table = raw.get("gates", {})
    if not isinstance(table, dict):
        raise BadInput(f"mlvc.toml on {target}: [gates] must be a table")
    return GateSettings.from_table(table, target), VersionRules.from_config(raw)


def _merge_gate(plan_branch: str, target: str, merge: MergeResult) -> GateResult:
    if merge.conflicts:
        more = f" and {len(merge.conflicts) - 3} more" if len(merge.conflicts) > 3 else ""
        return GateResult("merge", False, f"code conflicts in {', '.join(merge.conflicts[:3])}"
                          f"{more}: merge {target} into {plan_branch} by hand first")
    if merge.fast_forward:
        return GateResult("merge", True, f"{target} is an ancestor: merge commit, same files")
    took = f"; {len(merge.resolved)} artifact conflicts take {plan_branch}'s side" \
        if merge.resolved else ""
    return GateResult("merge", True, f"three-way merge, no code conflicts{took}")


def _stage_gate(reg: Registry, stage: str, target: str, candidate: CommitInfo) -> GateResult:
    if stage == target:
        return GateResult("stage", True, f"this is the promotion into {stage}")
    tip = reg.branch_tip(stage)
    if tip is None:
        return GateResult("stage", False, f"no {stage} branch: it must be reached first")
    if tip == candidate.id or can_fast_forward(reg.repo, encode(candidate.id), encode(tip)):
        return GateResult("stage", True, f"{candidate.short_id} is on {stage}")
    tree = reg.objects.commit(candidate.id)[1]
    for c in reg.objects.first_parent_chain(tip, 1000):
        if reg.objects.commit(c.id)[1] == tree:
            return GateResult("stage", True, f"{stage} had the same files at {c.short_id}")
    return GateResult("stage", False, f"{candidate.short_id} has not reached {stage}: "
                      f"promote it to {stage} first")


def dirty_paths(reg: Registry, target: str, old_tree: str, files: dict[str, tuple[int, str]]
                ) -> list[str]:
    """Paths the move would change that differ on disk, when ``target`` is checked out."""
    if reg.bare or reg.head != target:
        return []
    root = Path(reg.repo.path)
    before = {p: e.sha for p, e in reg.objects.files(old_tree).items()}
    out = []
    for path in sorted(before.keys() | files.keys()):
        old, new = before.get(path), files[path][1] if path in files else None
        if old == new:
            continue
        disk = root / path
        same = (not disk.exists()) if old is None else (
            disk.is_file() and git_blob_id(disk)[0] == old)
        if not same:
            out.append(path)
    return out


def plan_promotion(
    reg: Registry, branch: str, target: str | None = None, on_output: OutputSink | None = None
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
    merge = merge_commits(reg, target_tip, candidate.id)
    target_tree = reg.objects.commit(target_tip)[1]
    target_files = {p: (e.mode, e.sha) for p, e in reg.objects.files(target_tree).items()}
    if merge.up_to_date or (not merge.conflicts and merge.files == target_files):
        raise Refused(f"{target} already has everything on {branch} ({candidate.short_id}): "
                      "nothing to promote")
    settings, rules = target_settings(reg, target, target_tree)
    cand_tree = reg.objects.commit(candidate.id)[1]
    files = dict(merge.files) if not merge.conflicts else {
        p: (e.mode, e.sha) for p, e in reg.objects.files(cand_tree).items()}
    after = result_metrics(reg, merge) if not merge.conflicts else reg.metrics_of_tree(cand_tree)
    before = reg.metrics_of_tree(target_tree)
    primary = reg.primary_metric()
    gates = [_merge_gate(branch, target, merge)]
    gates += metric_gates(settings, reg.config, primary, _has_model(reg, files), after, before,
                          target)
    approvers = tuple(a.user for a in approvals_of(reg, candidate.id))
    if settings.approvals:
        gates.append(approval_gate(settings, approvers, candidate.id))
    if settings.require_stage:
        gates.append(_stage_gate(reg, settings.require_stage, target, candidate))
    if not reg.bare and reg.head == target:
        dirty = dirty_paths(reg, target, target_tree, files)
        gates.append(GateResult("worktree", not dirty, (
            f"{target} is checked out with uncommitted changes to {dirty[0]}: commit or "
            "stash them") if dirty else f"{target} is checked out and clean: it will update"))
    if settings.check:
        if merge.conflicts:
            gates.append(GateResult("check", False, "not run: the merge has code conflicts"))
        else:
            env = {"MLVC_SOURCE": branch, "MLVC_TARGET": target, "MLVC_COMMIT": candidate.id}
            gates.append(run_check(reg, merge, settings.check, settings.check_timeout,
                                   on_output, env))
    diff = MetricDiff(target, branch, metric_files.diff_metrics(before, after, reg.config))
    plan = PromotionPlan(branch, target, candidate, target_tip, merge, diff, tuple(gates),
                         primary, approvals=approvers)
    if target != reg.prod:
        return plan
    model = model_name(reg, target)
    prev = latest_version(reg, model, target)
    old = {p: sha for p, (_, sha) in target_files.items()}
    kind, why = compute_bump(reg, rules, old, {p: sha for p, (_, sha) in files.items()},
                             before, after, primary, lambda sha: merge.blob(reg, sha))
    version = bump(prev, kind)
    return PromotionPlan(
        branch, target, candidate, target_tip, merge, diff, tuple(gates), primary, model,
        version, ".".join(map(str, prev)) if prev else None, kind if prev else "first",
        why if prev else "the first version of this model", f"{model}@v{version}", approvers)


def recorded_metrics(
    diff: MetricDiff, primary: str | None
) -> dict[str, tuple[float | None, float | None]]:
    """The metrics a record keeps: the primary one, and every one that changed."""
    return {r.key: (r.a, r.b) for r in diff.rows
            if r.key == primary or r.verdict is not Verdict.SAME}


def local_offset() -> int:
    return -time.timezone if not time.localtime().tm_isdst else -time.altzone


def write_commit(reg: Registry, tree: str, parents: list[str], record: PromotionRecord,
                 message: str) -> str:
    """The commit object of a record (author, committer and time from the record)."""
    commit = Commit()
    commit.tree = tree.encode("ascii")
    commit.parents = [p.encode("ascii") for p in parents]
    commit.author = commit.committer = encode(record.user)
    commit.author_time = commit.commit_time = record.time
    commit.author_timezone = commit.commit_timezone = record.tz_offset
    commit.message = encode(message.rstrip("\n") + "\n")
    add_object(reg.repo.object_store, commit)
    return commit.id.decode("ascii")


def finish(reg: Registry, target: str, old: str, new: str, record: PromotionRecord,
           message: str, tag_name: str | None) -> PromotionDone:
    """The writes after the objects: tag object, compare-and-swap, tag ref, repairs."""
    tag = make_tag(tag_name, new, record, message) if tag_name else None
    if tag is not None:
        add_object(reg.repo.object_store, tag)
    pause_point("objects")
    try:
        move_branch(reg, target, old, new, f"mlvc: {message.splitlines()[0]}",
                    old_tree=reg.objects.commit(old)[1])
    except Refused:
        now = reg.repo.refs.read_ref(b"refs/heads/" + encode(target))
        if now is not None and now.decode("ascii") != old:  # the "dirty" files were its work
            raise Refused(f"{target} moved meanwhile (expected {old[:8]}, found "
                          f"{now.decode('ascii')[:8]}): nothing was changed, try again") from None
        raise
    pause_point("moved")
    written = None
    if tag is not None and reg.repo.refs.add_if_new(b"refs/tags/" + tag.name, tag.id):
        written = tag_name
        reg.refresh()
    pause_point("tagged")
    repaired = tuple(t for t in repair_tags(reg, version_history(reg, target)) if t != written)
    return PromotionDone(record, new, written, repaired)


def apply_promotion(reg: Registry, plan: PromotionPlan) -> PromotionDone:
    """Do the promotion a plan describes; Refused when a gate failed or the target moved."""
    if not plan.ok:
        first = plan.failed[0]
        raise Refused(f"gate {first.name} failed: {first.reason}; nothing was changed")
    pause_point("gates")
    record = PromotionRecord(
        kind="promotion", target=plan.target, source=plan.branch,
        source_commit=plan.candidate.id, target_commit=plan.target_commit,
        user=decode(identity(reg)), time=int(time.time()), tz_offset=local_offset(),
        model=plan.model, version=plan.version, previous=plan.previous, bump=plan.bump,
        bump_reason=plan.bump_reason, tag=plan.tag, gates=plan.gates, approvals=plan.approvals,
        metrics=recorded_metrics(plan.diff, plan.primary),
        resolved=plan.merge.resolved,
    )
    message = render_message(record, plan.primary)
    tree = write_merge_tree(reg, plan.merge)
    commit = write_commit(reg, tree, [plan.target_commit, plan.candidate.id], record, message)
    return finish(reg, plan.target, plan.target_commit, commit, record, message, plan.tag)
