"""Plain, immutable value types the engine hands to the CLI, the app and the API.

Nothing here touches git: every value is already read. Object ids are 40-character hex
strings; times are POSIX seconds (UTC) with the author's offset in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Artifact",
    "ArtifactStatus",
    "Branch",
    "BranchDetail",
    "BranchKind",
    "BranchSnapshot",
    "CommitInfo",
    "Grid",
    "HistoryPair",
    "HistorySide",
    "Lineage",
    "LineageRecord",
    "MetricDelta",
    "MetricDiff",
    "MetricPoint",
    "Metrics",
    "ModelVersion",
    "Storage",
    "Verdict",
    "WorktreeChange",
]


class BranchKind(StrEnum):
    """What a branch is to the registry."""

    PROD = "prod"
    ENVIRONMENT = "environment"
    EXPERIMENT = "experiment"


class Storage(StrEnum):
    """How an artifact's bytes are kept."""

    BLOB = "blob"
    LFS = "lfs"
    SUBMODULE = "submodule"


class ArtifactStatus(StrEnum):
    """An artifact on a branch compared with prod, or in the working tree."""

    SAME = "same"
    CHANGED = "changed"
    NEW = "new"
    MISSING = "missing"
    MODIFIED = "modified"  # the working tree differs from the branch's commit


class Verdict(StrEnum):
    """A metric on side b compared with side a, in that metric's direction."""

    BETTER = "better"
    WORSE = "worse"
    SAME = "same"
    NEW = "new"
    MISSING = "missing"
    INVALID = "invalid"  # NaN or infinite on either side


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """One commit as a user sees it."""

    id: str
    author: str
    time: int
    tz_offset: int
    message: str
    parents: tuple[str, ...] = ()

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def summary(self) -> str:
        """The first line of the message."""
        return self.message.split("\n", 1)[0]

    @property
    def author_name(self) -> str:
        """The author without the email address."""
        return self.author.split(" <", 1)[0]

    @property
    def author_email(self) -> str:
        """The author's email address ('' when there is none)."""
        _, _, rest = self.author.partition(" <")
        return rest.rstrip(">")


@dataclass(frozen=True, slots=True)
class Branch:
    """A local or remote-tracking branch."""

    name: str  # "prod", "exp/x", or "origin/exp/x" for a remote-tracking branch
    ref: str  # "refs/heads/prod", "refs/remotes/origin/exp/x"
    kind: BranchKind
    commit: CommitInfo
    remote: str | None = None
    is_head: bool = False  # the branch checked out in the working tree
    # Against its counterpart on the registry's remote (local and remote-tracking merged):
    upstream: str | None = None  # "origin/exp/x" when the remote has a branch of that name
    upstream_id: str | None = None
    ahead: int = 0  # commits on the local branch the remote lacks
    behind: int = 0  # commits on the remote the local branch lacks
    remote_only: bool = False  # no local branch: the row is the remote-tracking one


@dataclass(frozen=True, slots=True)
class Artifact:
    """One file of a registry kind (models, metrics, ...) on one commit.

    ``id`` is the git blob id, the LFS oid (sha256) for an LFS pointer, or the pinned
    commit for a submodule; ``blob_id`` is always the git object id in the tree.
    """

    path: str
    kind: str
    id: str
    blob_id: str
    size: int | None
    storage: Storage = Storage.BLOB


@dataclass(frozen=True, slots=True)
class WorktreeChange:
    """An artifact in the working tree that differs from the checked-out commit."""

    path: str
    kind: str
    change: str  # "modified", "added" or "deleted"


@dataclass(frozen=True, slots=True)
class Metrics:
    """Flat metrics of one commit: dotted key to value, plus per-file parse errors."""

    values: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # path -> reason

    def get(self, key: str) -> float | None:
        return self.values.get(key)


@dataclass(frozen=True, slots=True)
class BranchSnapshot:
    """One row of the grid: a branch, its artifacts and how they compare with prod."""

    branch: Branch
    artifacts: Mapping[str, Artifact]  # a dict, or the pieces it is made of (`Joined`)
    status: Mapping[str, ArtifactStatus]  # every grid column -> status (absent: on neither)
    metrics: Metrics
    primary_value: float | None = None
    primary_delta: float | None = None  # against prod
    primary_verdict: Verdict | None = None


@dataclass(frozen=True, slots=True)
class BranchDetail:
    """One branch as its own view shows it: its grid row, recent commits, metrics vs prod."""

    snapshot: BranchSnapshot
    prod: str | None
    log: tuple[CommitInfo, ...]
    diff: MetricDiff | None  # metrics against prod (None on prod itself or without prod)
    columns: tuple[str, ...] = ()  # its artifact paths (and prod's) in the grid's order


@dataclass(frozen=True, slots=True)
class Grid:
    """Every branch against every artifact: the registry at a glance."""

    root: str
    prod: str | None
    head: str | None  # checked-out branch name, None when detached or bare
    detached: str | None  # commit id when HEAD is detached
    bare: bool
    primary_metric: str | None
    columns: tuple[str, ...]  # artifact paths, grouped by kind
    rows: tuple[BranchSnapshot, ...]
    worktree: tuple[WorktreeChange, ...] = ()
    remote: str | None = None  # the registry's remote, when one is configured
    fetched: int | None = None  # when it was last fetched from (POSIX time)

    def row(self, name: str) -> BranchSnapshot | None:
        return next((r for r in self.rows if r.branch.name == name), None)


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """One metric in a diff between two sides."""

    key: str
    a: float | None
    b: float | None
    delta: float | None
    relative: float | None
    higher_is_better: bool
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class MetricDiff:
    """Every metric of two refs (or a ref and the working tree) side by side."""

    a: str
    b: str
    rows: tuple[MetricDelta, ...]
    errors: dict[str, str] = field(default_factory=dict)  # "a:metrics/x.json" -> reason

    @property
    def changed(self) -> tuple[MetricDelta, ...]:
        return tuple(r for r in self.rows if r.verdict is not Verdict.SAME)


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """A metric's value at one commit of a branch's first-parent history."""

    commit: CommitInfo
    value: float | None


@dataclass(frozen=True, slots=True)
class HistorySide:
    """One ref's history of a metric, newest first; ``problem`` says why it has none."""

    ref: str
    points: tuple[MetricPoint, ...] = ()
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryPair:
    """A metric's history on two refs, and where b forked from a."""

    metric: str
    a: HistorySide
    b: HistorySide
    fork: str | None = None  # b's newest commit that a's history has too (None: none)

    def b_since_fork(self) -> tuple[MetricPoint, ...]:
        """b's points from the fork on, oldest first (all of them without a fork)."""
        oldest_first = tuple(reversed(self.b.points))
        at = next((i for i, p in enumerate(oldest_first) if p.commit.id == self.fork), 0)
        return oldest_first[at:]


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One version of a model file: the commit that wrote these bytes."""

    commit: CommitInfo
    artifact: Artifact


@dataclass(frozen=True, slots=True)
class LineageRecord:
    """The parsed ``models/<name>.lineage.json`` (all fields kept in ``fields``)."""

    path: str
    fields: dict[str, object]
    error: str | None = None
    matches: bool | None = None  # the record's sha256 against the model's bytes (None: no sha256)


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a model on a branch came from."""

    branch: str
    model: str  # path, e.g. "models/model.pkl"
    version: ModelVersion  # the commit that last changed the model
    code: str | None  # tree id of src/ at that commit
    data: dict[str, str]  # path -> blob id / submodule commit / tree id
    config: dict[str, str]  # params.yaml, config/..., mlvc.toml -> blob id
    params: dict[str, object]  # parsed params.yaml (flattened), when present
    previous: tuple[ModelVersion, ...]  # earlier versions, newest first
    record: LineageRecord | None
    merged_from: tuple[str, ...] = ()  # second parents of the changing merge commit
    tags: tuple[str, ...] = ()  # version tags pointing at the changing commit


def is_finite(value: float | None) -> bool:
    """True for a real, finite number."""
    return value is not None and math.isfinite(value)
