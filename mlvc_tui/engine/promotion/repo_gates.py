"""The gates that read the repository (merge, stage order, working tree) and what every gate
reads: the target's own settings, and the model and metrics of the merge result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dulwich.graph import can_fast_forward

from mlvc_tui.engine import metrics as metric_files
from mlvc_tui.engine.config import RegistryConfig, parse_config
from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.merge import MergeResult
from mlvc_tui.engine.git.objects import GITLINK, encode
from mlvc_tui.engine.git.worktree import git_blob_id
from mlvc_tui.engine.promotion.gates import GateSettings
from mlvc_tui.engine.promotion.records import GateResult
from mlvc_tui.engine.promotion.versions import VersionRules
from mlvc_tui.engine.values import CommitInfo, Metrics

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "dirty_paths",
    "has_model",
    "keep_owned",
    "merge_gate",
    "result_metrics",
    "stage_gate",
    "target_config",
    "target_settings",
    "worktree_gate",
]


def result_metrics(reg: Registry, merge: MergeResult) -> Metrics:
    """The metrics of the merge result, read as registry.metrics_of_tree reads a commit's."""
    model = reg.config.model
    stem = Path(model).name.split(".", 1)[0] if model else None
    files = [
        (p, merge.blob(reg, sha))
        for p, (mode, sha) in sorted(merge.files.items())
        if p.startswith("metrics/")
        and mode != GITLINK
        and p.lower().endswith(metric_files.METRIC_SUFFIXES)
    ]
    return metric_files.merge_files(files, stem)


def has_model(reg: Registry, paths: Iterable[str]) -> bool:
    """Whether the files hold the model (as registry.model_path finds one)."""
    models = [
        p for p in paths if reg.config.kind_of(p) == "models" and not p.endswith(".lineage.json")
    ]
    if reg.config.model:
        return reg.config.model in models
    return any(p.startswith("models/model.") for p in models) or len(models) == 1


def target_config(reg: Registry, tree: str) -> RegistryConfig:
    """The target's own mlvc.toml (defaults without one)."""
    hit = reg.objects.lookup(tree, "mlvc.toml")
    return parse_config(reg.objects.blob(hit[1]) if hit else None)


def target_settings(reg: Registry, target: str, tree: str) -> tuple[GateSettings, VersionRules]:
    """The gates and version rules in the target's own mlvc.toml (defaults without one)."""
    raw = target_config(reg, tree).raw
    table = raw.get("gates", {})
    if not isinstance(table, dict):
        raise BadInput(f"mlvc.toml on {target}: [gates] must be a table")
    return GateSettings.from_table(table, target), VersionRules.from_config(raw)


def keep_owned(
    merge: MergeResult, target_files: Mapping[str, tuple[int, str]], config: RegistryConfig
) -> tuple[MergeResult, tuple[str, ...]]:
    """The merge with every environment-owned path as the target has it (present or not),
    and the owned paths where that differs from what the merge would have taken."""
    if merge.up_to_date:
        return merge, ()
    owned = config.owned_by_environment
    kept = tuple(
        sorted(
            p
            for p in merge.files.keys() | target_files.keys()
            if owned(p) and merge.files.get(p) != target_files.get(p)
        )
    )
    files = {p: e for p, e in merge.files.items() if not owned(p)}
    files.update({p: e for p, e in target_files.items() if owned(p)})
    return replace(
        merge,
        files=files,
        conflicts=tuple(c for c in merge.conflicts if not owned(c)),
        resolved=tuple(r for r in merge.resolved if not owned(r)),
        fast_forward=merge.fast_forward and not kept,
    ), kept


def merge_gate(branch: str, target: str, merge: MergeResult) -> GateResult:
    """No code conflicts."""
    if merge.conflicts:
        more = f" and {len(merge.conflicts) - 3} more" if len(merge.conflicts) > 3 else ""
        return GateResult(
            "merge",
            False,
            f"code conflicts in {', '.join(merge.conflicts[:3])}"
            f"{more}: merge {target} into {branch} by hand first",
        )
    if merge.fast_forward:
        return GateResult("merge", True, f"{target} is an ancestor: merge commit, same files")
    took = (
        f"; {len(merge.resolved)} artifact conflicts take {branch}'s side" if merge.resolved else ""
    )
    return GateResult("merge", True, f"three-way merge, no code conflicts{took}")


def stage_gate(reg: Registry, stage: str, target: str, candidate: CommitInfo) -> GateResult:
    """The candidate commit (or exactly its files) reached ``stage`` first."""
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
    return GateResult(
        "stage", False, f"{candidate.short_id} has not reached {stage}: promote it to {stage} first"
    )


def dirty_paths(
    reg: Registry, target: str, old_tree: str, files: dict[str, tuple[int, str]]
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
        same = (
            (not disk.exists()) if old is None else (disk.is_file() and git_blob_id(disk)[0] == old)
        )
        if not same:
            out.append(path)
    return out


def worktree_gate(
    reg: Registry, target: str, old_tree: str, files: dict[str, tuple[int, str]]
) -> GateResult | None:
    """A checked-out target has no uncommitted edits to what changes (None: not checked out)."""
    if reg.bare or reg.head != target:
        return None
    dirty = dirty_paths(reg, target, old_tree, files)
    if dirty:
        return GateResult(
            "worktree",
            False,
            f"{target} is checked out with uncommitted changes to {dirty[0]}: commit or stash them",
        )
    return GateResult("worktree", True, f"{target} is checked out and clean: it will update")
