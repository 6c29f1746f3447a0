"""The registry: a git repository read as branches × artifacts × metrics, without checkout."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from mlvc_tui.engine import metrics as metric_files
from mlvc_tui.engine.config import PROD_FALLBACKS, RegistryConfig, parse_config
from mlvc_tui.engine.errors import BadInput, MlvcError, NotARegistry, RefNotFound
from mlvc_tui.engine.git.attributes import LfsPaths
from mlvc_tui.engine.git.checkout import repair_checkout
from mlvc_tui.engine.git.commits import NotGitRepository, Repo, discover_repo, peel
from mlvc_tui.engine.git.diskcache import ObjectCache
from mlvc_tui.engine.git.locks import leftovers, sweep
from mlvc_tui.engine.git.objects import GITLINK, ObjectReader, decode, encode
from mlvc_tui.engine.git.refs import peeled_tag, read_refs
from mlvc_tui.engine.git.remotes import ahead_behind, remote_names, upstream_remote
from mlvc_tui.engine.git.worktree import worktree_changes, worktree_metrics_files
from mlvc_tui.engine.git.writer import Transaction
from mlvc_tui.engine.grid import StatusCache, branch_detail, build_grid, stream_grid_runs
from mlvc_tui.engine.grid_status import StatusRun, StatusRuns
from mlvc_tui.engine.lineage import history as history_of
from mlvc_tui.engine.lineage import history_pair as history_pair_of
from mlvc_tui.engine.lineage import lineage as lineage_of
from mlvc_tui.engine.metric_blobs import MetricBlobs
from mlvc_tui.engine.values import (
    Artifact,
    Branch,
    BranchDetail,
    BranchKind,
    BranchSnapshot,
    CommitInfo,
    Grid,
    HistoryPair,
    Lineage,
    MetricDiff,
    MetricPoint,
    Metrics,
    Storage,
    WorktreeChange,
)

if TYPE_CHECKING:
    from mlvc_tui.engine.live.drift import DriftReport
    from mlvc_tui.engine.live.tail import DriftFollow
    from mlvc_tui.engine.promotion.gates import GateResult
    from mlvc_tui.engine.remote.sync import FetchReport, PushReport

__all__ = ["WORKTREE", "Registry"]

WORKTREE = ":worktree"  # pseudo-ref: the working tree of the checked-out branch
_HEADS, _REMOTES, _TAGS = "refs/heads/", "refs/remotes/", "refs/tags/"
_HEX = frozenset("0123456789abcdef")
_VERSION_TAG = re.compile(r".+@v\d+\.\d+\.\d+")  # GTO's <model>@vX.Y.Z
_ANCESTRY = re.compile(r"(.+?)((?:[~^]\d*)*)")
_STEP = re.compile(r"([~^])(\d*)")
_ARTIFACT_CELLS = 300_000  # artifacts kept in whole-tree dicts before starting afresh
_SEGMENTS = 200_000  # cached lists of pieces (and Artifact values) before starting afresh
_SEGMENT_CELLS = 400_000  # artifacts held in cached folder pieces; beyond, built per use


def _close_forgotten() -> None:
    """At exit, close the registries nobody closed, while Python can still run dulwich's
    clean-up (else its ``__del__`` prints tracebacks during interpreter shutdown)."""
    for reg in list(_OPEN):
        with contextlib.suppress(Exception):
            reg.close()


_OPEN: weakref.WeakSet[Registry] = weakref.WeakSet()
atexit.register(_close_forgotten)


def _folder_models(files: dict[str, tuple[int, str]]) -> list[str]:
    """Folders under ``models/`` that are one model: they hold an ``MLmodel`` file, or a
    lineage record ``models/<name>.lineage.json`` sits beside ``models/<name>/``."""
    out = set()
    for path in files:
        if not path.startswith("models/"):
            continue
        folder, _, name = path.rpartition("/")
        if name == "MLmodel" and folder != "models":
            out.add(folder)
        elif name.endswith(".lineage.json"):
            candidate = f"{folder}/{name.removesuffix('.lineage.json')}"
            if any(p.startswith(f"{candidate}/") for p in files):
                out.add(candidate)
    return sorted(out, key=len, reverse=True)


class Registry:
    """A git repository read as a model registry. Open with `Registry.open(path)`."""

    def __init__(self, repo: Repo, prod: str | None = None) -> None:
        self.repo = repo
        self.prod_override = prod  # the prod branch named on the command line
        self.objects = ObjectReader(
            repo.object_store, ObjectCache(Path(repo.controldir()) / "mlvc" / "cache-v1")
        )
        self.bare = repo.bare
        self.root = Path(repo.path).resolve()
        self._refs: dict[str, str] = {}
        self._head_ref: str | None = None
        self._peeled: dict[str, str] = {}
        self._metrics: dict[str, Metrics] = {}
        self._metric_blobs = MetricBlobs()
        self._metric_lists: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        self._metric_listed = 0
        self._artifacts: dict[str, dict[str, Artifact]] = {}
        self._artifact_cells = 0
        self._metric_values = 0
        self._segments: dict[tuple[str, str, str], tuple[dict[str, Artifact], ...]] = {}
        self._segment_lists: dict[str, tuple[dict[str, Artifact], ...]] = {}
        self._segment_cells = 0
        self._model_marks: dict[str, bool] = {}  # tree id -> holds MLmodel / *.lineage.json
        self._all_kept = True
        self._kinds: dict[str, str | None] = {}  # path -> kind under the current config
        self._made: dict[tuple[str, str, bool], Artifact] = {}  # one value per path and blob
        self._lfs: dict[str, LfsPaths] = {}
        self._chains: dict[tuple[str, int], frozenset[str]] = {}
        self._status: StatusCache = {}
        self._status_runs = StatusRuns()
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}
        self._pins: dict[str, str] = {}
        self._configs: dict[str, RegistryConfig | None] = {}  # mlvc.toml by commit id
        self.notes_pin: str | None = None  # the approvals notes tip to read instead of the ref
        # set during a remote write: moves a branch on the server instead of locally
        self.branch_writer: Callable[[str, str | None, str], None] | None = None
        self.config = RegistryConfig()
        self.refresh()
        _OPEN.add(self)

    # -- opening and refs ------------------------------------------------------------------

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
        found = leftovers(repo.controldir(), repo.object_store.path)  # type: ignore[attr-defined]
        if found:
            sweep(found)  # what crashed writers left: spool, half objects
        if not registry._refs and not empty_ok:
            registry.close()
            raise NotARegistry(
                f"{registry.root} has no commits yet: commit a model first, or try `mlvc demo`"
            )
        return registry

    def close(self) -> None:
        """Save what was learnt about objects for the next process, and close the repo."""
        _OPEN.discard(self)
        try:
            self.objects.cache.save()
        finally:
            self.repo.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def refresh(self) -> frozenset[str]:
        """Re-read refs and settings; cached objects stay (an id never changes meaning).

        Returns the refs that moved, appeared or went away (and ``HEAD`` when it changed).
        """
        before, head_before = self._refs, (self._head_ref, getattr(self, "detached", None))
        self.objects.forget_packs()
        if not Path(self.repo.commondir()).is_dir():
            raise NotARegistry(f"{self.root}: the repository is gone")
        self._refs = {
            name: sha
            for name, sha in read_refs(self.repo).items()
            if not (name.startswith(_REMOTES) and name.endswith("/HEAD"))
        }
        self._disk_refs = dict(self._refs)
        self._virtual: dict[str, str] = {}
        self.remote = self._pick_remote(None)
        self._add_remote_only_branches()
        head = self.repo.refs.read_ref(b"HEAD")
        self._head_ref = None
        self.detached: str | None = None
        if head and head.startswith(b"ref: "):
            self._head_ref = decode(head[5:].strip())
        elif head and not self.bare:
            self.detached = head.decode("ascii")
        config = self._read_config()
        if self._pick_remote(config) != self.remote:
            self._refs = dict(self._disk_refs)
            self.remote = self._pick_remote(config)
            self._add_remote_only_branches()
            config = self._read_config()
        if config != self.config:
            self._metrics.clear()
            self._artifacts.clear()
            self._segments.clear()
            self._segment_lists.clear()
            self._segment_cells = 0
            self._kinds.clear()
            self._made.clear()
        self.config = config
        moved = {r for r in before.keys() | self._refs.keys() if before.get(r) != self._refs.get(r)}
        if head_before != (self._head_ref, self.detached):
            moved.add("HEAD")
        return frozenset(moved)

    def _pick_remote(self, config: RegistryConfig | None) -> str:
        """The registry's remote: `[remote] name` in mlvc.toml, else prod's upstream, or origin."""
        table = (config.raw.get("remote") if config else None) or {}
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            return str(table["name"])
        for name in (config.prod,) if config and config.prod else PROD_FALLBACKS:
            if _HEADS + name in self._disk_refs:
                return upstream_remote(self.repo, name) or "origin"
        return "origin"

    @contextmanager
    def pinned(self, refs: dict[str, str], notes: str | None = None) -> Iterator[None]:
        """Read ``refs`` (full names) at the given ids, in memory only, for a while.

        Plans against a server's state use it: prod at the server's commit, the approvals
        notes at the server's tip. Nothing on disk changes.
        """
        saved, saved_notes = self._pins, self.notes_pin
        self._pins, self.notes_pin = {**saved, **refs}, notes or saved_notes
        try:
            self.refresh()
            yield
        finally:
            self._pins, self.notes_pin = saved, saved_notes
            self.refresh()

    def _add_remote_only_branches(self) -> None:
        """A branch only the remote has reads as a local one (``refs/heads/<name>``).

        Pinned refs (``pinned``) are applied here too.
        """
        prefix = f"{_REMOTES}{self.remote}/"
        for ref, sha in list(self._refs.items()):
            if ref.startswith(prefix):
                local = _HEADS + ref.removeprefix(prefix)
                if local not in self._disk_refs:
                    self._refs[local] = sha
                    self._virtual[local] = ref
        self._refs.update(self._pins)

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

    def last_fetch(self) -> int | None:
        """When the registry last fetched (by mlvc or git), as POSIX time; None: never."""
        control = Path(self.repo.controldir())
        times = []
        for path in (control / "FETCH_HEAD", control / "mlvc" / "fetched"):
            try:
                times.append(int(path.stat().st_mtime))
            except OSError:
                continue
        return max(times) if times else None

    def disk_refs(self) -> dict[str, str]:
        """The refs as they are on disk (without remote-only branches or pins)."""
        return dict(self._disk_refs)

    def remotes(self) -> tuple[str, ...]:
        """The remotes configured in `.git/config`."""
        return remote_names(self.repo)

    def remote_only(self, branch: str) -> bool:
        """Whether ``branch`` exists only as the remote's branch (no local one yet)."""
        return _HEADS + branch in self._virtual

    def _read_config(self) -> RegistryConfig:
        """mlvc.toml of prod and of no other branch: anyone can push a branch, and its
        settings must not choose prod, gates or metric directions for everyone.

        Prod is the branch named on the command line, else by ``mlvc.prod`` in this
        repository's own git config (`mlvc init --prod` sets it), else the first of prod,
        main and master that exists, else the branch the server's HEAD names (a bare
        repository's HEAD, a remote's HEAD). When that one's settings name another prod
        branch, the settings come from there (when it has them).
        """
        if self.prod_override:
            ref = _HEADS + self.prod_override
            return replace(self._config_at(ref) or RegistryConfig(), prod=self.prod_override)
        ref = next((r for r in self._trusted_prod_refs() if r in self._refs), None)
        if ref is not None and ref.removeprefix(_HEADS) not in PROD_FALLBACKS:
            config = self._config_at(ref)
            return replace(config or RegistryConfig(), prod=ref.removeprefix(_HEADS))
        config = self._config_at(ref) if ref else None
        if config is None:
            return RegistryConfig()
        if config.prod and _HEADS + config.prod != ref:
            named = self._config_at(_HEADS + config.prod)
            return replace(named, prod=config.prod) if named is not None else config
        return config

    def _trusted_prod_refs(self) -> list[str]:
        """Where prod may be named by someone other than whoever pushes branches."""
        names: list[str] = []
        try:
            local = self.repo.get_config().get((b"mlvc",), b"prod")
            names.append(_HEADS + decode(local))
        except KeyError:
            pass
        names += [_HEADS + n for n in PROD_FALLBACKS]
        heads = [b"HEAD"] if self.bare else []
        common = Path(self.repo.commondir())
        remote_head = f"{_REMOTES}{self.remote}/HEAD"
        # a symbolic ref is a loose file (or reftable): skip parsing packed-refs for nothing
        if (common / remote_head).is_file() or (common / "reftable").exists():
            heads.append(encode(remote_head))
        for symref in heads:
            with contextlib.suppress(Exception):
                target = self.repo.refs.read_ref(symref) or b""
                if target.startswith(b"ref: "):
                    name = decode(target[5:].strip())
                    prefix = f"{_REMOTES}{self.remote}/"
                    names.append(_HEADS + name.removeprefix(prefix).removeprefix(_HEADS))
        return names

    def _config_at(self, ref: str) -> RegistryConfig | None:
        sha = self._refs.get(ref)
        if sha is None:
            return None
        if sha in self._configs:
            return self._configs[sha]
        info = self._commit_of(sha)
        hit = self.objects.lookup(self.objects.commit(info.id)[1], "mlvc.toml") if info else None
        try:
            config = parse_config(self.objects.blob(hit[1])) if hit else None
        except BadInput as exc:  # said as a warning; reading goes on with the defaults
            why = str(exc).removeprefix("mlvc.toml").lstrip(": ").removeprefix("is ")
            config = RegistryConfig(
                problem=f"mlvc.toml on {ref.removeprefix(_HEADS)} is set aside, "
                f"the defaults are in use: {why}"
            )
        if len(self._configs) > 4096:
            self._configs.clear()
        self._configs[sha] = config
        return config

    @property
    def prod(self) -> str | None:
        """The prod branch's name, or None when the registry has none."""
        names = (self.config.prod,) if self.config.prod else PROD_FALLBACKS
        return next((n for n in names if _HEADS + n in self._refs), None)

    @property
    def head(self) -> str | None:
        """The checked-out branch (None when detached or bare)."""
        if self.bare or self._head_ref is None or not self._head_ref.startswith(_HEADS):
            return None
        if self._head_ref not in self._disk_refs:
            return None  # unborn (a fresh `mlvc clone`): nothing is checked out yet
        return self._head_ref.removeprefix(_HEADS)

    def branches(self) -> tuple[Branch, ...]:
        """Branches, prod and environments first, then experiments (newest first).

        A local branch and its counterpart on the registry's remote are one row (with
        ``upstream``, ``ahead`` and ``behind``); a branch only the remote has is a row
        marked ``remote_only``. Other remotes' branches are rows named ``<remote>/<name>``.
        """
        prod, envs, head = self.prod, self.config.environments, self.head
        mine = f"{_REMOTES}{self.remote}/"
        out: list[Branch] = []
        for ref, sha in self._refs.items():
            if ref.startswith(mine):
                continue  # folded into its local row
            extra: dict[str, object] = {}
            if ref.startswith(_HEADS):
                name, remote, short = ref.removeprefix(_HEADS), None, ref.removeprefix(_HEADS)
                tracking = mine + name
                if ref in self._virtual:
                    remote, ref = self.remote, tracking
                    extra = {"remote_only": True, "upstream": f"{self.remote}/{name}"}
                    extra["upstream_id"] = sha
                elif (up := self._refs.get(tracking)) is not None:
                    ahead, behind = self._ahead_behind(sha, up)
                    extra = {"upstream": f"{self.remote}/{name}", "upstream_id": up}
                    extra.update(ahead=ahead, behind=behind)
            elif ref.startswith(_REMOTES):
                name = ref.removeprefix(_REMOTES)
                remote, _, short = name.partition("/")
            else:
                continue
            if name == prod and (remote is None or extra.get("remote_only")):
                kind = BranchKind.PROD
            elif short in envs or short == prod:
                kind = BranchKind.ENVIRONMENT
            else:
                kind = BranchKind.EXPERIMENT
            info = self._commit_of(sha)
            if info is None:
                continue
            is_head = remote is None and name == head
            out.append(Branch(name, ref, kind, info, remote, is_head, **extra))  # type: ignore[arg-type]
        order = {BranchKind.PROD: 0, BranchKind.ENVIRONMENT: 1, BranchKind.EXPERIMENT: 2}

        def sort_key(b: Branch) -> tuple[int, int, int, str]:
            rank = envs.index(b.name) if b.name in envs else len(envs)
            when = -b.commit.time if b.kind is BranchKind.EXPERIMENT else 0
            other = b.remote is not None and not b.remote_only
            return (order[b.kind], other, when or rank, b.name)

        return tuple(sorted(out, key=sort_key))

    def _ahead_behind(self, mine: str, theirs: str) -> tuple[int, int]:
        key = (mine, theirs)
        hit = self._counts.get(key)
        if hit is None:
            if len(self._counts) > 8192:
                self._counts.clear()
            hit = self._counts[key] = ahead_behind(self.repo, mine, theirs)
        return hit

    def _commit_of(self, sha: str) -> CommitInfo | None:
        """The commit a ref points at, peeling tags; None for refs to non-commits."""
        peeled = self._peeled.get(sha)
        if peeled is None and (packed := peeled_tag(sha)) is not None:
            try:  # packed-refs named the target: read it only if it is new to us
                return self.objects.commit(packed)[0]
            except KeyError:  # not a commit (a tag of a tree or blob): the slow way
                pass
        if peeled is None:
            try:  # most refs name a commit: one read
                return self.objects.commit(sha)[0]
            except KeyError:
                pass
            target, kind = peel(self.repo, sha)
            peeled = self._peeled[sha] = target if kind == "commit" else ""
        return self.objects.commit(peeled)[0] if peeled else None

    def resolve(self, ref: str) -> str:
        """A branch, remote branch, tag, HEAD or (abbreviated) commit id, as a commit id.

        Git's ``~N`` and ``^N`` suffixes walk to ancestors (``prod~2``, ``HEAD^2``).
        """
        if ref in ("", WORKTREE):
            raise RefNotFound(f"{ref!r} is not a ref")
        walk = _ANCESTRY.fullmatch(ref)
        if walk and walk.group(2):  # git forbids ~ and ^ in ref names
            sha = self.resolve(walk.group(1))
            for step, count in _STEP.findall(walk.group(2)):
                n = int(count) if count else 1
                info = self.objects.commit(sha)[0]
                if step == "^":
                    if n == 0:
                        continue
                    if len(info.parents) < n:
                        raise RefNotFound(f"{ref!r}: {info.short_id} has no parent {n}")
                    sha = info.parents[n - 1]
                    continue
                for _ in range(n):
                    info = self.objects.commit(sha)[0]
                    if not info.parents:
                        raise RefNotFound(f"{ref!r} goes back past the first commit")
                    sha = info.parents[0]
            return sha
        candidates = self._ref_candidates(ref)
        if ref == "HEAD":
            candidates = [self._head_ref or ""] if self._head_ref else []
            if self.detached:
                return self.detached
        for name in candidates:
            sha = self._refs.get(name)
            if sha is not None and (info := self._commit_of(sha)) is not None:
                return info.id
        lowered = ref.lower()
        if 4 <= len(ref) <= 40 and set(lowered) <= _HEX:
            matches = (
                [lowered]
                if len(ref) == 40
                else [
                    s.decode("ascii") for s in self.repo.object_store.iter_prefix(encode(lowered))
                ]
            )
            commits = (
                [m for m in matches if self._commit_of(m) is not None]
                if all(encode(m) in self.repo.object_store for m in matches)
                else []
            )
            if len(commits) == 1:
                return commits[0]
            if len(commits) > 1:
                raise RefNotFound(f"{ref!r} is ambiguous: it abbreviates {len(commits)} commits")
        raise RefNotFound(f"no branch, tag or commit named {ref!r}")

    def _ref_candidates(self, ref: str) -> list[str]:
        """The refs a short name may mean, in git's order (gitrevisions(7)): the full name,
        ``refs/<name>``, then tags, branches and remote branches. A name that is both a
        tag and a branch means the tag when it is a version tag (``model@v1.2.0``), as in
        git; any other such name is refused, naming both."""
        full = [n for n in (ref, "refs/" + ref) if n.startswith("refs/") and n in self._refs]
        if full:
            return full[:1]
        hits = [n for n in (_TAGS + ref, _HEADS + ref, _REMOTES + ref) if n in self._refs]
        if len(hits) > 1 and not (hits[0].startswith(_TAGS) and _VERSION_TAG.fullmatch(ref)):
            raise BadInput(
                f"{ref!r} is ambiguous: it names both {hits[0]} and {hits[1]}; "
                f"write the full name (e.g. {hits[1]})"
            )
        return hits[:1]

    def branch_tip(self, branch: str) -> str | None:
        """The commit a local branch points at, or None when there is no such branch."""
        sha = self._refs.get(_HEADS + branch)
        info = self._commit_of(sha) if sha else None
        return info.id if info else None

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

    def commit(self, ref: str) -> CommitInfo:
        """The commit a ref names."""
        return self.objects.commit(self.resolve(ref))[0]

    def tags(self) -> dict[str, str]:
        """Tag name -> the commit id it points at (annotated tags peeled)."""
        out = {}
        for ref, sha in self._refs.items():
            if ref.startswith(_TAGS) and (info := self._commit_of(sha)) is not None:
                out[ref.removeprefix(_TAGS)] = info.id
        return out

    def tag_refs(self) -> dict[str, str]:
        """Tag name -> the object its ref names (the tag object for an annotated tag)."""
        return {r.removeprefix(_TAGS): s for r, s in self._refs.items() if r.startswith(_TAGS)}

    def tag_ref(self, name: str) -> str | None:
        """The object a tag ref names (the tag object for an annotated tag), or None."""
        return self._refs.get(_TAGS + name)

    def tags_by_commit(self) -> dict[str, tuple[str, ...]]:
        """Commit id -> the tags that point at it, sorted by name."""
        out: dict[str, list[str]] = {}
        for tag, sha in sorted(self.tags().items()):
            out.setdefault(sha, []).append(tag)
        return {sha: tuple(names) for sha, names in out.items()}

    def branch_having(self, sha: str, exclude: str | None = None, depth: int = 200) -> str | None:
        """A branch (not ``exclude``) whose tip is ``sha``, else one whose last ``depth``
        first-parent commits include it; None when no branch has it."""
        branches = [b for b in self.branches() if b.name != exclude]
        tip = next((b.name for b in branches if b.commit.id == sha), None)
        if tip is not None:
            return tip
        return next(
            (b.name for b in branches if any(c.id == sha for c in self.log(b.name, depth))),
            None,
        )

    def branches_containing(self, commit: str, depth: int = 500) -> tuple[str, ...]:
        """Branches whose last ``depth`` first-parent commits include ``commit``."""
        out = []
        for branch in self.branches():
            chain = self._chains.get((branch.commit.id, depth))
            if chain is None:
                chain = self._chains[(branch.commit.id, depth)] = frozenset(
                    c.id for c in self.objects.first_parent_chain(branch.commit.id, depth)
                )
            if commit in chain:
                out.append(branch.name)
        return tuple(out)

    def log(self, ref: str, limit: int = 20) -> tuple[CommitInfo, ...]:
        """The newest commits of a ref's first-parent history."""
        return tuple(self.objects.first_parent_chain(self.resolve(ref), limit))

    # -- artifacts and metrics ---------------------------------------------------------------

    def tree_of(self, ref: str) -> str:
        """The root tree id of a ref."""
        return self.objects.commit(self.resolve(ref))[1]

    def artifacts(self, ref: str) -> dict[str, Artifact]:
        """Every artifact of a ref, by path (kinds in DESIGN §4 and `mlvc.toml`)."""
        return self.artifacts_of_tree(self.tree_of(ref))

    def artifacts_of_tree(
        self, tree: str, segments: tuple[dict[str, Artifact], ...] | None = None
    ) -> dict[str, Artifact]:
        """The artifacts below a root tree (cached by tree id).

        Built from per-subtree pieces shared between trees (`tree_segments`; pass them
        as ``segments`` when already at hand), so branches that share most subtrees share
        their `Artifact` values too.
        """
        hit = self._artifacts.get(tree)
        if hit is not None:
            return hit
        out: dict[str, Artifact] = {}
        for segment in self.tree_segments(tree) if segments is None else segments:
            out.update(segment)
        if self._artifact_cells > _ARTIFACT_CELLS:  # bounded by cells, not trees
            self._artifacts.clear()
            self._artifact_cells = 0
        self._artifacts[tree] = out
        self._artifact_cells += len(out) + 1
        return out

    def tree_segments(self, tree: str) -> tuple[dict[str, Artifact], ...]:
        """A root tree's artifacts in pieces, in tree order: each folder's runs of files
        are one piece, its subfolders their own pieces.

        A folder's pieces are cached by (path, tree id, LFS rules), so they are built once
        however many root trees hold that folder: a branch that changed one file adds only
        the folders on that file's path. Cost follows the distinct trees, not branches x
        files. Pieces are shared: never change one.
        """
        hit = self._segment_lists.get(tree)
        if hit is not None:
            return hit
        roots = self.config.artifact_roots
        lfs = self.lfs_paths(tree)
        entries = [e for e in self.objects.tree(tree) if roots is None or e[0] in roots]
        self._all_kept = True
        found = self._pieces("", entries, lfs, lfs.key if lfs else "")
        if self._all_kept:  # a list holding pieces left uncached would keep them alive
            if len(self._segment_lists) > _SEGMENTS:
                self._segment_lists.clear()
            self._segment_lists[tree] = found
        return found

    def _folder(
        self, path: str, sha: str, lfs: LfsPaths, lfs_key: str
    ) -> tuple[dict[str, Artifact], ...]:
        key = (path, sha, lfs_key)
        hit = self._segments.get(key)
        if hit is None and path == "models" and self._names_model_files(sha):
            hit = self._models_folder(sha, lfs)
        if hit is None:
            hit = self._pieces(path + "/", self.objects.tree(sha), lfs, lfs_key)
            cells = sum(len(p) for p in hit)
            if self._segment_cells + cells > _SEGMENT_CELLS:
                self._all_kept = False  # over budget: built again when needed
            else:
                self._segments[key] = hit
                self._segment_cells += cells
        return hit

    def _pieces(
        self, prefix: str, entries: Iterable[tuple[str, int, str]], lfs: LfsPaths, lfs_key: str
    ) -> tuple[dict[str, Artifact], ...]:
        pieces: list[dict[str, Artifact]] = []
        run: list[tuple[str, int, str]] = []
        for name, mode, sha in entries:
            if mode & 0o170000 == 0o040000:
                if run:
                    pieces.append(self._piece(run, lfs))
                    run = []
                pieces.extend(self._folder(prefix + name, sha, lfs, lfs_key))
            else:
                run.append((prefix + name, mode, sha))
        if run:
            pieces.append(self._piece(run, lfs))
        return tuple(p for p in pieces if p)

    def _piece(self, files: list[tuple[str, int, str]], lfs: LfsPaths) -> dict[str, Artifact]:
        any_lfs = bool(lfs)
        kinds, made = self._kinds, self._made
        out: dict[str, Artifact] = {}
        for path, mode, sha in files:
            kind = kinds.get(path, "")
            if kind == "":
                kind = kinds[path] = self.config.kind_of(path) or (
                    "data" if path == "data" else None
                )
            if kind is None:
                continue
            maybe_lfs = any_lfs and lfs.match(path)
            art = made.get((path, sha, maybe_lfs))
            if art is None:
                if mode == GITLINK:
                    art = Artifact(path, kind, sha, sha, None, Storage.SUBMODULE)
                else:
                    info = self.objects.blob_info(sha, maybe_lfs)
                    art = Artifact(path, kind, info.id, sha, info.size, info.storage)
                if len(made) > _SEGMENTS * 4:
                    made.clear()
                made[(path, sha, maybe_lfs)] = art
            out[path] = art
        return out

    def _names_model_files(self, tree: str) -> bool:
        """Whether an ``MLmodel`` file or a lineage record is anywhere below a tree (cached
        per subtree): without one, ``models/`` holds no folder model and is read as files."""
        hit = self._model_marks.get(tree)
        if hit is None:
            hit = False
            for name, mode, sha in self.objects.tree(tree):
                if mode & 0o170000 == 0o040000:
                    hit = self._names_model_files(sha)
                else:
                    hit = name == "MLmodel" or name.endswith(".lineage.json")
                if hit:
                    break
            if len(self._model_marks) > _SEGMENTS:
                self._model_marks.clear()
            self._model_marks[tree] = hit
        return hit

    def _models_folder(self, sha: str, lfs: LfsPaths) -> tuple[dict[str, Artifact], ...] | None:
        """``models/`` as one piece when it holds folder models (each one artifact, its sizes
        summed, its id the manifest sha256 of its lineage record); None when it holds none."""
        files = {f"models/{p}": (e.mode, e.sha) for p, e in self.objects.files(sha).items()}
        folders = _folder_models(files)
        if not folders:
            return None
        single = self._piece([(p, mode, s) for p, (mode, s) in files.items()], lfs)
        out: dict[str, Artifact] = {}
        for path, art in single.items():
            folder = next((f for f in folders if path.startswith(f"{f}/")), None)
            if folder is None:
                out[path] = art
                continue
            seen = out.get(folder)
            size = (seen.size or 0) + (art.size or 0) if seen else art.size
            lfs_any = art.storage is Storage.LFS or (seen and seen.storage is Storage.LFS)
            storage = Storage.LFS if lfs_any else Storage.BLOB
            out[folder] = Artifact(folder, art.kind, "", "", size, storage)
        for folder in folders:
            if folder in out:
                hit = self.objects.lookup(sha, folder.removeprefix("models/"))
                tree_id = hit[1] if hit else ""
                art = out[folder]
                ident = self._folder_id(files, folder) or tree_id
                out[folder] = Artifact(folder, art.kind, ident, tree_id, art.size, art.storage)
        return (out,)

    def _folder_id(self, files: dict[str, tuple[int, str]], folder: str) -> str | None:
        """A folder model's manifest sha256, from its lineage record (None without one)."""
        stem, _, name = folder.rpartition("/")
        record = files.get(f"{stem}/{name}.lineage.json")
        if record is None:
            return None
        try:
            doc = json.loads(self.objects.blob(record[1])[: 1 << 20])
        except ValueError:
            return None
        value = doc.get("sha256") if isinstance(doc, dict) else None
        return value if isinstance(value, str) else None

    def lfs_paths(self, tree: str) -> LfsPaths:
        """The LFS patterns of a tree's root `.gitattributes` (cached by blob id)."""
        hit = self.objects.lookup(tree, ".gitattributes")
        key = hit[1] if hit else ""
        found = self._lfs.get(key)
        if found is None:
            found = self._lfs[key] = LfsPaths(self.objects.blob(key) if key else None)
        return found

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
        from mlvc_tui.engine.live.drift import DRIFT_PATH, NoDriftLog, parse_drift
        from mlvc_tui.engine.live.tail import drift_thresholds

        path = path or DRIFT_PATH
        if ref != WORKTREE:
            art = self.artifacts(ref).get(path)
            if art is None:
                raise NoDriftLog(
                    f"{ref} has no {path}: nothing monitors this branch yet", "missing"
                )
            if art.storage is Storage.LFS:
                raise NoDriftLog(
                    f"{path} on {ref} is a Git LFS object: fetch it to read it", "storage"
                )
            if art.storage is not Storage.BLOB:
                raise NoDriftLog(
                    f"{path} on {ref} is kept in {art.storage.value}, not in git", "storage"
                )
        thresholds = drift_thresholds(self.config)
        try:
            return parse_drift(self.read(ref, path), thresholds)
        except NoDriftLog:
            raise
        except BadInput as exc:
            raise NoDriftLog(f"{path} on {ref} cannot be read: {exc}", "unreadable") from None

    def follow_drift(self, path: str | None = None, chunk: int | None = None) -> DriftFollow:
        """The working tree's drift log followed as it grows, with ``[drift.thresholds]``
        (the one set-up of the live drift view, for the CLI and the app)."""
        from mlvc_tui.engine.live.drift import DRIFT_PATH
        from mlvc_tui.engine.live.tail import CHUNK, DriftFollow, drift_thresholds

        root = self.working_root()
        return DriftFollow(
            root / (path or DRIFT_PATH), drift_thresholds(self.config), chunk=chunk or CHUNK
        )

    def working_root(self) -> Path:
        """The working tree's folder; BadInput for a bare repository (nothing to follow)."""
        if self.bare:
            raise BadInput(f"{self.root} is a bare repository: it has no working tree to follow")
        return self.root

    def metrics(self, ref: str) -> Metrics:
        """Every metric of a ref (or of the working tree), flattened to dotted keys."""
        stem = self._model_stem()
        if ref == WORKTREE:
            return metric_files.merge_files(worktree_metrics_files(self._worktree_root()), stem)
        return self.metrics_of_tree(self.tree_of(ref))

    def metrics_of_tree(self, tree: str) -> Metrics:
        """The metrics of a root tree (cached by the id of its metrics/ tree)."""
        stem = self._model_stem()
        hit = self.objects.lookup(tree, "metrics")
        key = f"{hit[1] if hit else ''}:{stem or ''}"
        cached = self._metrics.get(key)
        if cached is None and (saved := self.objects.cache.metrics.get(key)) is not None:
            cached = self._metrics[key] = Metrics(*saved)
        if cached is None:
            files, too_large = [], {}
            if hit is not None and hit[0] & 0o170000 == 0o040000:
                objects, blobs = self.objects, self._metric_blobs
                for path, sha in self._metric_files(hit[1], "metrics/"):
                    parsed, prefixed, read = blobs.parsed(
                        path, sha, lambda s=sha: objects.size(s), lambda s=sha: objects.blob(s)
                    )
                    if read:
                        files.append((path, parsed, prefixed))
                    else:  # too large to read: reported after the files that were read
                        too_large[path] = str(parsed)
            cached = metric_files.merge_parsed(files, stem)
            if too_large:
                cached = Metrics(cached.values, {**cached.errors, **too_large})
            if self._metric_values > _ARTIFACT_CELLS:  # bounded by values, not trees
                self._metrics.clear()
                self._metric_values = 0
            self._metrics[key] = cached
            self._metric_values += len(cached.values) + 1
            self.objects.cache.add_metrics(key, cached.values, cached.errors)
        return cached

    def _metric_files(self, tree: str, prefix: str) -> tuple[tuple[str, str], ...]:
        """(path, blob id) of every metrics file below a tree whose path is ``prefix``,
        cached by (prefix, tree id): a metrics tree that changed one file re-lists only
        the folders on that file's path."""
        key = (prefix, tree)
        hit = self._metric_lists.get(key)
        if hit is None:
            found: list[tuple[str, str]] = []
            for name, mode, sha in self.objects.tree(tree):
                kind = mode & 0o170000
                if kind == 0o040000:
                    found.extend(self._metric_files(sha, f"{prefix}{name}/"))
                elif kind != 0o160000 and name.lower().endswith(metric_files.METRIC_SUFFIXES):
                    found.append((prefix + name, sha))
            hit = tuple(found)
            if self._metric_listed > _ARTIFACT_CELLS:
                self._metric_lists.clear()
                self._metric_listed = 0
            self._metric_lists[key] = hit
            self._metric_listed += len(hit) + 1
        return hit

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

    def stream_grid(
        self,
    ) -> tuple[Grid, dict[str, str], Iterator[tuple[BranchSnapshot, tuple[StatusRun, ...]]]]:
        """`grid` without its rows, each column's kind, and the rows one at a time (read
        them while the registry is open): for output that need not hold them all. Each
        row comes with its statuses in runs (`grid.stream_grid_runs`): the same run object
        always holds the same cells, so a writer can reuse its text."""
        return stream_grid_runs(self)

    def branch_detail(self, branch: str, commits: int = 30) -> BranchDetail:
        """One branch's row, recent commits and metrics against prod, without the others."""
        return branch_detail(self, branch, commits)

    def snapshot(self, branch: str) -> BranchSnapshot:
        """One branch's grid row, without reading the others."""
        return build_grid(self, only=branch).rows[0]
