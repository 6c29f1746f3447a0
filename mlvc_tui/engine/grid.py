"""The grid: every branch against every artifact of prod, with the primary metric."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from mlvc_tui.engine import metrics as metric_files
from mlvc_tui.engine.config import ARTIFACT_KINDS
from mlvc_tui.engine.errors import RefNotFound
from mlvc_tui.engine.values import Artifact, ArtifactStatus, BranchDetail, BranchSnapshot, Grid

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "StatusCache",
    "StatusRun",
    "StatusRuns",
    "branch_detail",
    "build_grid",
    "column_order",
    "status_against",
    "stream_grid",
    "stream_grid_runs",
]

_STATUS_CELLS = 300_000
_RUN_CELLS = 50_000  # cells of status runs kept (the shared ones are used again soon)
StatusCache = dict[tuple[int, int], tuple[object, object, dict[str, ArtifactStatus]]]
StatusRun = dict[str, ArtifactStatus]  # one piece's cells of a row, in the row's order


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
    if len(cache) > min(4096, _STATUS_CELLS // max(1, len(status))):  # bounded by cells
        cache.clear()
    cache[key] = (arts, prod_arts, status)
    return status


class StatusRuns:
    """Statuses against prod per piece of a tree (`Registry.tree_segments`), cached per
    (piece, prod) and bounded by cells: a folder many branches share is compared once."""

    def __init__(self, max_cells: int = _RUN_CELLS) -> None:
        self.max_cells = max_cells
        self._runs: StatusCache = {}
        self._cells = 0

    def runs(
        self, pieces: tuple[dict[str, Artifact], ...], prod_arts: dict[str, Artifact]
    ) -> tuple[StatusRun, ...]:
        """One run per piece, in order (the missing cells are not in any). A run is the
        same object whenever the same piece is compared with the same prod: its cells
        never change (a writer may keep its text)."""
        out = []
        cache = self._runs
        for piece in pieces:
            key = (id(piece), id(prod_arts))
            hit = cache.get(key)
            if hit is not None and hit[0] is piece and hit[1] is prod_arts:
                out.append(hit[2])
                continue
            run: StatusRun = {}
            for path, mine in piece.items():
                theirs = prod_arts.get(path)
                if theirs is None:
                    run[path] = ArtifactStatus.NEW
                elif mine.id == theirs.id:
                    run[path] = ArtifactStatus.SAME
                else:
                    run[path] = ArtifactStatus.CHANGED
            if self._cells + len(run) > self.max_cells:
                cache.clear()
                self._cells = 0
            cache[key] = (piece, prod_arts, run)
            self._cells += len(run)
            out.append(run)
        return tuple(out)


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
    grid, _, rows = stream_grid(reg, only)
    return replace(grid, rows=tuple(rows))


def stream_grid_runs(
    reg: Registry, only: str | None = None
) -> tuple[Grid, dict[str, str], Iterator[tuple[BranchSnapshot, tuple[StatusRun, ...]]]]:
    """`stream_grid` with each row's statuses in runs: the row's ``status`` is the runs
    merged in order. Runs of folders the rows share are the same objects (`StatusRuns`),
    so a writer can make each run's text once (`mlvc grid --json`)."""
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
    kinds: dict[str, str] = {}  # a path's kind depends on the settings only
    for tree in trees:
        for piece in reg.tree_segments(tree):
            if not piece.keys() <= kinds.keys():
                kinds.update({p: a.kind for p, a in piece.items()})
    columns = column_order(reg, {*kinds, *changed})
    higher = reg.config.higher_is_better(primary or "")

    def rows() -> Iterator[tuple[BranchSnapshot, tuple[StatusRun, ...]]]:
        for branch, tree in zip(branches, trees, strict=True):
            pieces = reg.tree_segments(tree)
            arts = reg.artifacts_of_tree(tree, pieces)
            runs = reg._status_runs.runs(pieces, prod_arts)
            if sum(map(len, runs)) != len(arts):  # a path in two pieces: a malformed tree
                status = status_against(reg._status, arts, prod_arts)
                runs = (status,)
            else:
                status = {}
                for run in runs:
                    status.update(run)
                if missing := prod_arts.keys() - arts.keys():
                    gone = dict.fromkeys(missing, ArtifactStatus.MISSING)
                    status.update(gone)
                    runs += (gone,)
            if branch.is_head and changed:
                status = {**status, **dict.fromkeys(changed, ArtifactStatus.MODIFIED)}
                runs = (status,)
            m = reg.metrics_of_tree(tree)
            value = m.get(primary) if primary else None
            cmp = (
                metric_files.compare(primary or "", prod_value, value, higher)
                if prod_value is not None and value is not None
                else None
            )
            row = BranchSnapshot(
                branch,
                arts,
                status,
                m,
                value,
                cmp.delta if cmp else None,
                cmp.verdict if cmp else None,
            )
            yield row, runs

    grid = Grid(
        root=str(reg.root),
        prod=prod,
        head=reg.head,
        detached=reg.detached,
        bare=reg.bare,
        primary_metric=primary,
        columns=columns,
        rows=(),
        worktree=changes,
        remote=reg.remote if reg.remote in reg.remotes() else None,
        fetched=reg.last_fetch(),
    )
    return grid, kinds, rows()


def stream_grid(
    reg: Registry, only: str | None = None
) -> tuple[Grid, dict[str, str], Iterator[BranchSnapshot]]:
    """The grid without its rows, each column's kind, and the rows made one at a time.

    The columns come from the distinct subtrees (`Registry.tree_segments`), so a caller
    that writes each row and drops it (`mlvc grid --json`) holds one row at a time: memory
    follows the distinct trees, not branches x artifacts.
    """
    grid, kinds, rows = stream_grid_runs(reg, only)
    return grid, kinds, (row for row, _ in rows)
