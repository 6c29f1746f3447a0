"""The grid: every branch against every artifact of prod, with the primary metric."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlvc_tui.engine import metrics as metric_files
from mlvc_tui.engine.config import ARTIFACT_KINDS
from mlvc_tui.engine.errors import RefNotFound
from mlvc_tui.engine.values import Artifact, ArtifactStatus, BranchDetail, BranchSnapshot, Grid

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["StatusCache", "branch_detail", "build_grid", "column_order", "status_against"]

StatusCache = dict[tuple[int, int], tuple[object, object, dict[str, ArtifactStatus]]]


def status_against(
    cache: StatusCache, arts: dict[str, Artifact], prod_arts: dict[str, Artifact]
) -> dict[str, ArtifactStatus]:
    """Each artifact of either side: same, changed, new or missing (cached per pair)."""
    key = (id(arts), id(prod_arts))
    hit = cache.get(key)
    if hit is not None and hit[0] is arts and hit[1] is prod_arts:
        return hit[2]
    status: dict[str, ArtifactStatus] = {}
    for path, mine in arts.items():
        theirs = prod_arts.get(path)
        if theirs is None:
            status[path] = ArtifactStatus.NEW
        else:
            status[path] = ArtifactStatus.SAME if mine.id == theirs.id else ArtifactStatus.CHANGED
    for path in prod_arts.keys() - arts.keys():
        status[path] = ArtifactStatus.MISSING
    if len(cache) > 4096:
        cache.clear()
    cache[key] = (arts, prod_arts, status)
    return status


def column_order(reg: Registry, paths: set[str] | frozenset[str]) -> tuple[str, ...]:
    """Artifact paths in the grid's order: by kind (models first), then by path."""
    kinds = {p: reg.config.kind_of(p) or "data" for p in paths}
    rank = {k: i for i, k in enumerate(ARTIFACT_KINDS)}
    return tuple(sorted(paths, key=lambda p: (rank.get(kinds[p], 99), kinds[p], p)))


def branch_detail(reg: Registry, branch: str, commits: int = 30) -> BranchDetail:
    """One branch's detail, reading only that branch (and prod); RefNotFound when gone."""
    try:
        snapshot = build_grid(reg, only=branch).rows[0]
    except RefNotFound:
        raise RefNotFound(f"there is no branch named '{branch}' any more (deleted?)") from None
    prod = reg.prod
    diff = reg.diff(prod, branch) if prod is not None and prod != branch else None
    columns = column_order(reg, {*snapshot.artifacts, *snapshot.status})
    return BranchDetail(snapshot, prod, reg.log(branch, commits), diff, columns)


def build_grid(reg: Registry, only: str | None = None) -> Grid:
    """Every branch (or ``only`` that one) against every artifact, vs prod's primary metric."""
    branches = reg.branches()
    if only is not None:
        branches = tuple(b for b in branches if b.name == only)
        if not branches:
            raise RefNotFound(f"no branch named {only!r}")
    prod = reg.prod
    prod_arts = reg.artifacts(prod) if prod else {}
    primary = reg.primary_metric()
    prod_value = reg.metrics(prod).get(primary) if prod and primary else None
    changes = reg.worktree_changes() if only is None or branches[0].is_head else ()
    changed = {c.path for c in changes}
    trees = [reg.objects.commit(b.commit.id)[1] for b in branches]
    arts_by_branch = [reg.artifacts_of_tree(t) for t in trees]
    paths = set().union(*arts_by_branch, changed) if arts_by_branch else set(changed)
    columns = column_order(reg, paths)
    rows = []
    for branch, tree, arts in zip(branches, trees, arts_by_branch, strict=True):
        status = status_against(reg._status, arts, prod_arts)
        if branch.is_head and changed:
            status = {**status, **dict.fromkeys(changed, ArtifactStatus.MODIFIED)}
        m = reg.metrics_of_tree(tree)
        value = m.get(primary) if primary else None
        cmp = (
            metric_files.compare(
                primary or "", prod_value, value, reg.config.higher_is_better(primary or "")
            )
            if prod_value is not None and value is not None
            else None
        )
        rows.append(
            BranchSnapshot(
                branch,
                arts,
                status,
                m,
                value,
                cmp.delta if cmp else None,
                cmp.verdict if cmp else None,
            )
        )
    return Grid(
        root=str(reg.root),
        prod=prod,
        head=reg.head,
        detached=reg.detached,
        bare=reg.bare,
        primary_metric=primary,
        columns=columns,
        rows=tuple(rows),
        worktree=changes,
        remote=reg.remote if reg.remote in reg.remotes() else None,
        fetched=reg.last_fetch(),
    )
