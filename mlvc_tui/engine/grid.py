"""The grid: every branch against every artifact of prod, with the primary metric."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from mlvc_tui.engine import metrics as metric_files
from mlvc_tui.engine.config import ARTIFACT_KINDS
from mlvc_tui.engine.errors import RefNotFound
from mlvc_tui.engine.grid_status import StatusRun
from mlvc_tui.engine.joined import Joined
from mlvc_tui.engine.values import (
    Artifact,
    ArtifactStatus,
    Branch,
    BranchDetail,
    BranchSnapshot,
    Grid,
    Metrics,
    WorktreeChange,
)

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "GridPart",
    "StatusCache",
    "branch_detail",
    "build_grid",
    "column_order",
    "grid_parts",
    "status_against",
    "stream_grid",
    "stream_grid_runs",
]

_STATUS_CELLS = 300_000
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
    if len(cache) > min(4096, _STATUS_CELLS // max(1, len(status))):  # bounded by cells
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
    grid, _, rows = stream_grid(reg, only)
    return replace(grid, rows=tuple(rows))


def _row_maker(
    reg: Registry, prod: str | None, primary: str | None, changed: set[str], joined: bool = False
) -> Callable[[Branch, str], tuple[BranchSnapshot, tuple[StatusRun, ...]]]:
    """The function making one branch's row from its root tree, measured against prod,
    with the row's statuses in runs (`StatusRuns`: one per piece of the tree, shared
    between the rows that share the piece, then the missing cells; the row's ``status``
    is the runs merged in order).

    ``joined`` rows hold their pieces and runs as they are (`Joined`) instead of merged
    copies: a grid held whole then costs the distinct pieces, not branches x artifacts.
    """
    prod_arts = reg.artifacts(prod) if prod else {}
    prod_value = reg.metrics(prod).get(primary) if prod and primary else None
    higher = reg.config.higher_is_better(primary or "")

    def row(branch: Branch, tree: str) -> tuple[BranchSnapshot, tuple[StatusRun, ...]]:
        pieces = reg.tree_segments(tree)
        runs, present = reg._status_runs.runs_in_prod(pieces, prod_arts)
        arts: Mapping[str, Artifact]
        status: Mapping[str, ArtifactStatus]
        if joined and _disjoint(pieces):  # the pieces as they are, shared
            arts = Joined(pieces)
            if present != len(prod_arts):
                gone = dict.fromkeys(prod_arts.keys() - arts.keys(), ArtifactStatus.MISSING)
                runs += (gone,)
            status = Joined(runs)
        else:
            arts = whole = reg.artifacts_of_tree(tree, pieces)
            if sum(map(len, runs)) != len(whole):  # a path in two pieces: a malformed tree
                status = status_against(reg._status, whole, prod_arts)
                runs = (status,)
            else:
                status = merged = {}
                for run in runs:
                    merged.update(run)
                if missing := prod_arts.keys() - whole.keys():
                    gone = dict.fromkeys(missing, ArtifactStatus.MISSING)
                    merged.update(gone)
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
        snapshot = BranchSnapshot(
            branch, arts, status, m, value, cmp.delta if cmp else None, cmp.verdict if cmp else None
        )
        return snapshot, runs

    return row


def _disjoint(pieces: tuple[dict[str, Artifact], ...]) -> bool:
    """Whether no path is in two pieces. Only pieces of one folder can share a path (a
    malformed tree naming a file twice, or a subfolder twice), so only those are compared."""
    folders: dict[str, list[dict[str, Artifact]]] = {}
    for piece in pieces:
        folder = next(iter(piece), "").rpartition("/")[0]
        seen = folders.setdefault(folder, [])
        if any(not other.keys().isdisjoint(piece) for other in seen):
            return False
        seen.append(piece)
    return True


def _learn_kinds(reg: Registry, tree: str, kinds: dict[str, str]) -> None:
    """Add the kinds of a root tree's artifacts to ``kinds`` (a path's kind depends on the
    settings only)."""
    for piece in reg.tree_segments(tree):
        if not piece.keys() <= kinds.keys():
            kinds.update({p: a.kind for p, a in piece.items()})


def _empty_grid(
    reg: Registry, prod: str | None, primary: str | None, changes: tuple[WorktreeChange, ...]
) -> Grid:
    return Grid(
        root=str(reg.root),
        prod=prod,
        head=reg.head,
        detached=reg.detached,
        bare=reg.bare,
        primary_metric=primary,
        columns=(),
        rows=(),
        worktree=changes,
        remote=reg.remote if reg.remote in reg.remotes() else None,
        fetched=reg.last_fetch(),
    )


def stream_grid_runs(
    reg: Registry, only: str | None = None
) -> tuple[Grid, dict[str, str], Iterator[tuple[BranchSnapshot, tuple[StatusRun, ...]]]]:
    """`stream_grid` with each row's statuses in runs (`_row_maker`): the same run object
    always holds the same cells, so a writer can make each run's text once."""
    branches = reg.branches()
    if only is not None:
        branches = tuple(b for b in branches if b.name == only)
        if not branches:
            raise RefNotFound(f"no branch named {only!r}")
    prod = reg.prod
    changes = reg.worktree_changes() if only is None or branches[0].is_head else ()
    changed = {c.path for c in changes}
    primary = reg.primary_metric()
    row = _row_maker(reg, prod, primary, changed)
    trees = [reg.objects.commit(b.commit.id)[1] for b in branches]
    kinds: dict[str, str] = {}
    for tree in trees:
        _learn_kinds(reg, tree, kinds)
    columns = column_order(reg, {*kinds, *changed})
    rows = (row(branch, tree) for branch, tree in zip(branches, trees, strict=True))
    return replace(_empty_grid(reg, prod, primary, changes), columns=columns), kinds, rows


def stream_grid(
    reg: Registry, only: str | None = None
) -> tuple[Grid, dict[str, str], Iterator[BranchSnapshot]]:
    """The grid without its rows, each column's kind, and the rows made one at a time.

    The columns come from the distinct subtrees (`Registry.tree_segments`), so a caller
    that writes each row and drops it (`mlvc grid --json`) holds one row at a time: memory
    follows the distinct trees, not branches x artifacts.
    """
    grid, kinds, rows = stream_grid_runs(reg, only)
    return grid, kinds, (snapshot for snapshot, _ in rows)


@dataclass(frozen=True, slots=True)
class GridPart:
    """The grid as read so far: every branch in the grid's order, the rows named in
    ``pending`` placeholders (the branch only: no artifacts, no metrics) still being read.
    The last part has none pending and equals `build_grid`'s grid."""

    grid: Grid
    pending: frozenset[str] = frozenset()

    @property
    def complete(self) -> bool:
        return not self.pending


class _Rows:
    """The rows of a registry's last whole grid read, by commit id, for the next read: a
    branch whose tip did not move is not read again (``R`` where little changed)."""

    def __init__(self) -> None:
        self.context: tuple[object, ...] = ()  # what every row was measured against
        self.rows: dict[str, BranchSnapshot] = {}


_LAST_ROWS: WeakKeyDictionary[Registry, _Rows] = WeakKeyDictionary()
_READ_COST = 50  # a row read costs as much as this many rows taken from the last read


def grid_parts(
    reg: Registry, first: int = 0, wanted: Collection[str] = (), chunk: int = 500
) -> Iterator[GridPart]:
    """The grid in parts, what is on screen first: prod, the branches named in ``wanted``
    and the ``first`` rows in the grid's order; then the rest, ``chunk`` rows read at a
    time. A branch whose tip has not moved since this registry's last whole read keeps
    its row from it (at a fiftieth of the cost of reading it).

    Rows hold their pieces and statuses `Joined`, as shared between rows, so a grid held
    whole costs the distinct trees, not branches x artifacts.

    The branches (names, order, tips) are all known from the first part on; only rows are
    filled in. Advance it while the registry is open: a caller may let others use the
    registry between two parts.
    """
    branches = reg.branches()
    prod = reg.prod
    changes = reg.worktree_changes()
    changed = {c.path for c in changes}
    primary = reg.primary_metric()
    row = _row_maker(reg, prod, primary, changed, joined=True)
    base = _empty_grid(reg, prod, primary, changes)
    last = _LAST_ROWS.setdefault(reg, _Rows())
    context = (prod, reg.tree_of(prod) if prod else None, primary, reg.config)
    if last.context != context:
        last.context, last.rows = context, {}
    before, kept = last.rows, dict[str, BranchSnapshot]()
    rows: list[BranchSnapshot | None] = [None] * len(branches)
    kinds: dict[str, str] = {}
    learned: dict[int, Mapping[str, Artifact]] = {}  # pieces whose kinds are in kinds

    def make(branch: Branch) -> tuple[BranchSnapshot, int]:
        """One branch's row and its cost (`_READ_COST` when read, 1 when kept)."""
        sha, dirty = branch.commit.id, branch.is_head and bool(changed)
        snap = None if dirty else before.get(sha)
        cost = 1
        if snap is None:
            tree = reg.objects.commit(sha)[1]
            snap, cost = row(branch, tree)[0], _READ_COST
            if not isinstance(snap.artifacts, Joined):  # a malformed tree
                _learn_kinds(reg, tree, kinds)
        elif snap.branch != branch:
            snap = replace(snap, branch=branch)
        if isinstance(snap.artifacts, Joined):
            for piece in snap.artifacts.parts:  # each shared piece once
                if learned.get(id(piece)) is not piece:
                    learned[id(piece)] = piece  # (kept alive: its id stays its own)
                    if not piece.keys() <= kinds.keys():
                        kinds.update({p: a.kind for p, a in piece.items()})
        if not dirty:
            kept[sha] = snap
        return snap, cost

    wanted = set(wanted)
    on_screen = {
        i for i, b in enumerate(branches) if i < first or b.name in wanted or b.name == prod
    }
    now = sorted(on_screen, key=lambda i: (branches[i].name != prod, i))  # prod first
    order = now + [i for i in range(len(branches)) if i not in on_screen]
    pos, end = 0, len(now)  # the first part: the rows on screen, whatever they cost
    while True:
        spent = 0
        while pos < len(order) and (pos < end if end else spent < chunk * _READ_COST):
            i = order[pos]
            rows[i], cost = make(branches[i])
            spent += cost
            pos += 1
        end = 0
        pending = frozenset(b.name for b, r in zip(branches, rows, strict=True) if r is None)
        snaps = tuple(
            r if r is not None else BranchSnapshot(b, {}, {}, Metrics())
            for b, r in zip(branches, rows, strict=True)
        )
        columns = column_order(reg, {*kinds, *changed})
        if not pending:
            last.rows = kept  # the next read starts from this one
        yield GridPart(replace(base, columns=columns, rows=snaps), pending)
        if not pending:
            return
