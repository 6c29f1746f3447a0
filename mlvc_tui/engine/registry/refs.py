"""`RegistryRefs`: a repository's refs read as a registry's, the base of `Registry`.

It holds the repository, the object reader and the refs as read (on disk, branches only
the remote has, pinned ones), picks prod and its settings, and answers questions about
branches, tags and commits. `Registry` adds what is read from trees: artifacts, metrics,
files, the grid.
"""

from __future__ import annotations

import atexit
import contextlib
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

from mlvc_tui.engine.config import PROD_FALLBACKS, RegistryConfig
from mlvc_tui.engine.errors import NotARegistry
from mlvc_tui.engine.git.commits import Repo
from mlvc_tui.engine.git.diskcache import ObjectCache
from mlvc_tui.engine.git.objects import ObjectReader
from mlvc_tui.engine.git.refs import raw_ref, read_refs
from mlvc_tui.engine.git.remotes import remote_names
from mlvc_tui.engine.registry import listing, revisions, settings
from mlvc_tui.engine.registry.names import HEADS, REMOTES, TAGS
from mlvc_tui.engine.values import Branch, CommitInfo

__all__ = ["RegistryRefs", "object_reader"]


def _close_forgotten() -> None:
    """At exit, close the registries nobody closed, while Python can still run dulwich's
    clean-up (else its ``__del__`` prints tracebacks during interpreter shutdown)."""
    for reg in list(_OPEN):
        with contextlib.suppress(Exception):
            reg.close()


_OPEN: weakref.WeakSet[RegistryRefs] = weakref.WeakSet()
atexit.register(_close_forgotten)


def object_reader(repo: Repo) -> ObjectReader:
    """The object reader of ``repo``, with its disk cache in ``.git/mlvc``."""
    return ObjectReader(
        repo.object_store, ObjectCache(Path(repo.controldir()) / "mlvc" / "cache-v1")
    )


class RegistryRefs:
    """A repository's refs, prod and settings (the base of `Registry`)."""

    def __init__(self, repo: Repo, prod: str | None, objects: ObjectReader) -> None:
        self.repo = repo
        self.prod_override = prod  # the prod branch named on the command line
        self.objects = objects
        self.bare = repo.bare
        self.root = Path(repo.path).resolve()
        self._refs: dict[str, str] = {}  # what is read: disk, remote-only branches, pins
        self._disk_refs: dict[str, str] = {}
        self._virtual: dict[str, str] = {}  # remote-only branch -> its remote-tracking ref
        self._head_ref: str | None = None
        self.detached: str | None = None  # HEAD's commit when it names no branch
        self._peeled: dict[str, str] = {}
        self._chains: dict[tuple[str, int], frozenset[str]] = {}
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}
        self._pins: dict[str, str] = {}
        self._configs: dict[str, RegistryConfig | None] = {}  # mlvc.toml by commit id
        self.notes_pin: str | None = None  # the approvals notes tip to read instead of the ref
        # set during a remote write: moves a branch on the server instead of locally
        self.branch_writer: Callable[[str, str | None, str], None] | None = None
        self.config = RegistryConfig()
        self.remote = "origin"
        self.refresh()
        _OPEN.add(self)

    # -- opening and refs ------------------------------------------------------------------

    def close(self) -> None:
        """Save what was learnt about objects for the next process, and close the repo."""
        _OPEN.discard(self)
        try:
            self.objects.save()
        finally:
            self.repo.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def refresh(self) -> frozenset[str]:
        """Re-read refs and settings; cached objects stay (an id never changes meaning).

        Returns the refs that moved, appeared or went away (and ``HEAD`` when it changed).
        """
        before, head_before = self._refs, (self._head_ref, self.detached)
        self.objects.forget_packs()
        if not Path(self.repo.commondir()).is_dir():
            raise NotARegistry(f"{self.root}: the repository is gone")
        self._refs = {
            name: sha
            for name, sha in read_refs(self.repo).items()
            if not (name.startswith(REMOTES) and name.endswith("/HEAD"))
        }
        self._disk_refs = dict(self._refs)
        self._virtual = {}
        self.remote = settings.pick_remote(self, None)
        self._add_remote_only_branches()
        head = raw_ref(self.repo, "HEAD")
        self._head_ref = None
        self.detached = None
        if head and head.startswith("ref: "):
            self._head_ref = head[5:].strip()
        elif head and not self.bare:
            self.detached = head
        config = settings.read_config(self)
        if settings.pick_remote(self, config) != self.remote:
            self._refs = dict(self._disk_refs)
            self.remote = settings.pick_remote(self, config)
            self._add_remote_only_branches()
            config = settings.read_config(self)
        if config != self.config:
            self._settings_changed(config)
        self.config = config
        moved = {r for r in before.keys() | self._refs.keys() if before.get(r) != self._refs.get(r)}
        if head_before != (self._head_ref, self.detached):
            moved.add("HEAD")
        return frozenset(moved)

    def _settings_changed(self, config: RegistryConfig) -> None:
        """Called by `refresh` when the settings change, before they are in use."""

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
        prefix = f"{REMOTES}{self.remote}/"
        for ref, sha in list(self._refs.items()):
            if ref.startswith(prefix):
                local = HEADS + ref.removeprefix(prefix)
                if local not in self._disk_refs:
                    self._refs[local] = sha
                    self._virtual[local] = ref
        self._refs.update(self._pins)

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
        return HEADS + branch in self._virtual

    @property
    def prod(self) -> str | None:
        """The prod branch's name, or None when the registry has none."""
        names = (self.config.prod,) if self.config.prod else PROD_FALLBACKS
        return next((n for n in names if HEADS + n in self._refs), None)

    @property
    def head(self) -> str | None:
        """The checked-out branch (None when detached or bare)."""
        if self.bare or self._head_ref is None or not self._head_ref.startswith(HEADS):
            return None
        if self._head_ref not in self._disk_refs:
            return None  # unborn (a fresh `mlvc clone`): nothing is checked out yet
        return self._head_ref.removeprefix(HEADS)

    # -- branches, tags, commits -----------------------------------------------------------

    def branches(self) -> tuple[Branch, ...]:
        """Branches, prod and environments first, then experiments (newest first); a local
        branch and the remote's are one row (`listing.branches`)."""
        return listing.branches(self)

    def resolve(self, ref: str) -> str:
        """A branch, remote branch, tag, HEAD or (abbreviated) commit id, as a commit id.

        Git's ``~N`` and ``^N`` suffixes walk to ancestors (``prod~2``, ``HEAD^2``).
        """
        return revisions.resolve(self, ref)

    def branch_tip(self, branch: str) -> str | None:
        """The commit a local branch points at, or None when there is no such branch."""
        sha = self._refs.get(HEADS + branch)
        info = revisions.commit_of(self, sha) if sha else None
        return info.id if info else None

    def commit(self, ref: str) -> CommitInfo:
        """The commit a ref names."""
        return self.objects.commit(self.resolve(ref))[0]

    def tags(self) -> dict[str, str]:
        """Tag name -> the commit id it points at (annotated tags peeled)."""
        return listing.tags(self)

    def tag_refs(self) -> dict[str, str]:
        """Tag name -> the object its ref names (the tag object for an annotated tag)."""
        return {r.removeprefix(TAGS): s for r, s in self._refs.items() if r.startswith(TAGS)}

    def tag_ref(self, name: str) -> str | None:
        """The object a tag ref names (the tag object for an annotated tag), or None."""
        return self._refs.get(TAGS + name)

    def tags_by_commit(self) -> dict[str, tuple[str, ...]]:
        """Commit id -> the tags that point at it, sorted by name."""
        return listing.tags_by_commit(self)

    def branch_having(self, sha: str, exclude: str | None = None, depth: int = 200) -> str | None:
        """A branch (not ``exclude``) whose tip is ``sha``, else one whose last ``depth``
        first-parent commits include it; None when no branch has it."""
        return listing.branch_having(self, sha, exclude, depth)

    def branches_containing(self, commit: str, depth: int = 500) -> tuple[str, ...]:
        """Branches whose last ``depth`` first-parent commits include ``commit``."""
        return listing.branches_containing(self, commit, depth)

    def log(self, ref: str, limit: int = 20) -> tuple[CommitInfo, ...]:
        """The newest commits of a ref's first-parent history."""
        return tuple(self.objects.first_parent_chain(self.resolve(ref), limit))
