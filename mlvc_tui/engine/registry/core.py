"""`Registry`: a git repository read as a model registry, without checkout.

`RegistryRefs` (its base) holds the refs, prod and settings; this class adds what is read
from trees (artifacts, files, metrics, the grid, lineage, drift) and the verbs that write
or talk to a remote. Each method is where callers look for it; the work is done by the
package's parts and the engine modules they name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mlvc_tui.engine import metrics as metric_files
from mlvc_tui.engine.errors import BadInput, MlvcError, NotARegistry
from mlvc_tui.engine.git.attributes import LfsPaths
from mlvc_tui.engine.git.checkout import repair_checkout
from mlvc_tui.engine.git.commits import NotGitRepository, Repo, discover_repo
from mlvc_tui.engine.git.locks import leftovers, sweep
from mlvc_tui.engine.git.worktree import worktree_changes, worktree_metrics_files
from mlvc_tui.engine.git.writer import Transaction
from mlvc_tui.engine.grid import StatusCache, branch_detail, build_grid, stream_grid
from mlvc_tui.engine.lineage import history as history_of
from mlvc_tui.engine.lineage import history_pair as history_pair_of
from mlvc_tui.engine.lineage import lineage as lineage_of
from mlvc_tui.engine.registry.artifacts import ArtifactIndex
from mlvc_tui.engine.registry.names import WORKTREE
from mlvc_tui.engine.registry.refs import RegistryRefs, object_reader
from mlvc_tui.engine.registry.tree_metrics import MetricsIndex
from mlvc_tui.engine.values import (
    Artifact,
    BranchDetail,
    BranchSnapshot,
    Grid,
    HistoryPair,
    Lineage,
    MetricDiff,
    MetricPoint,
    Metrics,
    WorktreeChange,
)

if TYPE_CHECKING:
    from mlvc_tui.engine.config import RegistryConfig
    from mlvc_tui.engine.live.drift import DriftReport
    from mlvc_tui.engine.live.tail import DriftFollow
    from mlvc_tui.engine.promotion.gates import GateResult
    from mlvc_tui.engine.remote.sync import FetchReport, PushReport

__all__ = ["WORKTREE", "Registry"]


class Registry(RegistryRefs):
    """A git repository read as a model registry. Open with `Registry.open(path)`."""

    def __init__(self, repo: Repo, prod: str | None = None) -> None:
        objects = object_reader(repo)
        self._trees = ArtifactIndex(objects)
        self._tree_metrics = MetricsIndex(objects)
        self._status: StatusCache = {}  # the grid's cell statuses, by artifact ids
        super().__init__(repo, prod, objects)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] = ".",
        prod: str | None = None,
        *,
        empty_ok: bool = False,
    ) -> Registry:
        """Open the repository at ``path`` or at any folder above it.

        ``prod`` names the prod branch, whose `mlvc.toml` holds the settings (default: the
        first of prod, main and master, or the branch that one's settings name).
        ``empty_ok`` accepts a repository without commits (to fetch into it).
        """
        target = Path(path)
        if not target.exists():
            raise NotARegistry(f"{target}: no such folder")
        try:
            repo = discover_repo(target)
        except NotGitRepository:
            raise NotARegistry(f"{target.resolve()} is not inside a git repository") from None
        try:
            registry = cls(repo, prod)
        except BaseException:
            repo.close()
            raise
        try:
            if repair_checkout(registry):  # a write a crash interrupted: finish it
                registry.refresh()
        except MlvcError:
            pass  # busy: the next command repairs it
        found = leftovers(repo.controldir(), repo.object_store.path)
        if found:
            sweep(found)  # what crashed writers left: spool, half objects
        if not registry._refs and not empty_ok:
            registry.close()
            raise NotARegistry(
                f"{registry.root} has no commits yet: commit a model first, or try `mlvc demo`"
            )
        return registry

    def fetch(
        self, remote: str | None = None, progress: Callable[[str], None] | None = None
    ) -> FetchReport:
        """Fetch branches, tags and approvals from ``remote`` (default: the registry's)."""
        from mlvc_tui.engine.remote.sync import fetch

        return fetch(self, remote, progress)

    def push(
        self,
        branches: Iterable[str] = (),
        remote: str | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> PushReport:
        """Push branches (default: the checked-out one) with their version tags, no force."""
        from mlvc_tui.engine.remote.sync import push

        return push(self, branches, remote, progress)

    def transaction(self, branch: str, message: str, start: str | None = None) -> Transaction:
        """Write several files to a branch as one commit (``with reg.transaction(...)``).

        A branch that does not exist yet is created from ``start`` (default: a root commit).
        """
        return Transaction(self, branch, message, start)

    def check_writes(self, branch: str, changes: Mapping[str, str | None]) -> None:
        """BadInput, before anything is committed, when a write (path -> new blob id, None:
        deleted) would put a broken mlvc.toml, delivery.toml or lineage record on ``branch``."""
        from mlvc_tui.engine.validate import check_changes

        check_changes(self, branch, changes)

    def _settings_changed(self, config: RegistryConfig) -> None:
        """What was read under the old settings (kinds, metric names) is read again."""
        self._tree_metrics.forget()
        self._trees.use(config)

    # -- artifacts, files and metrics ------------------------------------------------------

    def tree_of(self, ref: str) -> str:
        """The root tree id of a ref."""
        return self.objects.commit(self.resolve(ref))[1]

    def artifacts(self, ref: str) -> dict[str, Artifact]:
        """Every artifact of a ref, by path (kinds in DESIGN §4 and `mlvc.toml`)."""
        return self.artifacts_of_tree(self.tree_of(ref))

    def artifacts_of_tree(self, tree: str) -> dict[str, Artifact]:
        """The artifacts below a root tree (cached by tree id), built from pieces shared
        between trees (`tree_segments`): branches that share subtrees share values too."""
        return self._trees.of_tree(tree)

    def tree_segments(self, tree: str) -> tuple[dict[str, Artifact], ...]:
        """A root tree's artifacts in pieces, in tree order: each folder's runs of files
        are one piece, its subfolders their own pieces (`ArtifactIndex`). Pieces are
        shared: never change one."""
        return self._trees.segments(tree)

    def lfs_paths(self, tree: str) -> LfsPaths:
        """The LFS patterns of a tree's root `.gitattributes` (cached by blob id)."""
        return self._trees.lfs_paths(tree)

    def read(self, ref: str, path: str) -> bytes:
        """A file's bytes on a ref (or in the working tree with WORKTREE)."""
        if ref == WORKTREE:
            return self._worktree_root().joinpath(path).read_bytes()
        hit = self.objects.lookup(self.tree_of(ref), path)
        if hit is None or hit[0] & 0o170000 != 0o100000:
            raise BadInput(f"{path} is not a file on {ref}")
        return self.objects.blob(hit[1])

    def drift(self, ref: str, path: str | None = None) -> DriftReport:
        """A ref's drift log (or the working tree's), thresholds from ``[drift.thresholds]``.

        The one reader of a drift log for every face; NoDriftLog (a BadInput) says why a
        ref has none to read."""
        from mlvc_tui.engine.registry.drift import read_drift

        return read_drift(self, ref, path)

    def follow_drift(self, path: str | None = None, chunk: int | None = None) -> DriftFollow:
        """The working tree's drift log followed as it grows, with ``[drift.thresholds]``
        (the one set-up of the live drift view, for the CLI and the app)."""
        from mlvc_tui.engine.registry.drift import follow_drift

        return follow_drift(self, path, chunk)

    def working_root(self) -> Path:
        """The working tree's folder; BadInput for a bare repository (nothing to follow)."""
        if self.bare:
            raise BadInput(f"{self.root} is a bare repository: it has no working tree to follow")
        return self.root

    def metrics(self, ref: str) -> Metrics:
        """Every metric of a ref (or of the working tree), flattened to dotted keys."""
        if ref == WORKTREE:
            files = worktree_metrics_files(self._worktree_root())
            return metric_files.merge_files(files, self._model_stem())
        return self.metrics_of_tree(self.tree_of(ref))

    def metrics_of_tree(self, tree: str) -> Metrics:
        """The metrics of a root tree (cached by the id of its metrics/ tree)."""
        return self._tree_metrics.of_tree(tree, self._model_stem())

    def _model_stem(self) -> str | None:
        model = self.config.model
        return Path(model).name.split(".", 1)[0] if model else None

    def model_path(self, ref: str) -> str | None:
        """The model file of a ref: configured, else models/model.*, else the only one."""
        arts = [
            p
            for p, a in self.artifacts(ref).items()
            if a.kind == "models" and not p.endswith(".lineage.json")
        ]
        if self.config.model:
            return self.config.model if self.config.model in arts else None
        named = sorted(p for p in arts if p.startswith("models/model."))
        if named:
            return named[0]
        return arts[0] if len(arts) == 1 else None

    def primary_metric(self) -> str | None:
        """The primary metric (config, else first well-known key on prod, else first key)."""
        ref = self.prod or self.head or next((b.name for b in self.branches()), None)
        keys = self.metrics(ref).values if ref else {}
        return metric_files.primary_metric(self.config, keys)

    def diff(self, a: str | None = None, b: str | None = None) -> MetricDiff:
        """Metrics of b against a. Defaults: a = prod; b = the working tree (bare: HEAD)."""
        a = a or self.prod
        if a is None:
            raise BadInput("no prod branch to compare with: name both sides, e.g. `diff A B`")
        if b is None:
            b = WORKTREE if not self.bare else "HEAD"
        ma, mb = self.metrics(a), self.metrics(b)
        errors = {f"{a}:{p}": m for p, m in ma.errors.items()}
        errors.update({f"{b}:{p}": m for p, m in mb.errors.items()})
        return MetricDiff(a, b, metric_files.diff_metrics(ma, mb, self.config), errors)

    def lineage(self, model: str | None = None, branch: str | None = None) -> Lineage:
        """Where a model (name or path; default: the branch's model) on a branch came from."""
        return lineage_of(self, model, branch)

    def history(
        self, metric: str, branch: str | None = None, limit: int = 200
    ) -> tuple[MetricPoint, ...]:
        """A metric along a branch's first-parent history (default: prod), newest first."""
        return history_of(self, metric, branch, limit)

    def history_pair(self, metric: str, a: str, b: str, limit: int = 200) -> HistoryPair:
        """``metric`` on both refs (newest first), with where b forked from a."""
        return history_pair_of(self, metric, a, b, limit)

    # -- the working tree and the grid -----------------------------------------------------

    def _worktree_root(self) -> Path:
        if self.bare:
            raise BadInput(f"{self.root} is a bare repository: it has no working tree")
        return Path(self.repo.path)

    def worktree_changes(self) -> tuple[WorktreeChange, ...]:
        """Artifacts modified, added or deleted in the working tree and not yet committed."""
        if self.bare:
            return ()
        sha = self._disk_refs.get(self._head_ref or "") or self.detached
        committed = self.artifacts_of_tree(self.objects.commit(sha)[1]) if sha else {}
        return worktree_changes(self.repo, committed, self.config)

    def grid(self) -> Grid:
        """Every branch against every artifact, with the primary metric against prod."""
        return build_grid(self)

    def promotion_gates(
        self, branch: str, target: str | None = None, *, run_changed: bool = False
    ) -> tuple[GateResult, ...]:
        """Every gate of promoting ``branch`` into ``target`` (default: prod), check included
        (check code the candidate changed runs only with ``run_changed``, sandboxed)."""
        from mlvc_tui.engine.promotion.promote import plan_promotion

        return plan_promotion(self, branch, target, run_changed=run_changed).gates

    def stream_grid(self) -> tuple[Grid, dict[str, str], Iterator[BranchSnapshot]]:
        """`grid` without its rows, each column's kind, and the rows one at a time (read
        them while the registry is open): for output that need not hold them all."""
        return stream_grid(self)

    def branch_detail(self, branch: str, commits: int = 30) -> BranchDetail:
        """One branch's row, recent commits and metrics against prod, without the others."""
        return branch_detail(self, branch, commits)

    def snapshot(self, branch: str) -> BranchSnapshot:
        """One branch's grid row, without reading the others."""
        return build_grid(self, only=branch).rows[0]
