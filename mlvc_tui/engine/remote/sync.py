"""Fetch and push: moving branches, version tags and approvals between a clone and its server.

``fetch`` brings every branch (as ``refs/remotes/<remote>/<name>``), every tag (new ones;
a tag that differs on the server is reported and left alone) and the approvals notes ref
(merged with local approvals, so none is lost); it prunes tracking branches the server
deleted. ``push`` sends branches with the version tags on their history, fast-forward only,
in one atomic request; a non-fast-forward is refused, never forced.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlvc_tui.engine.errors import BadInput, Refused
from mlvc_tui.engine.git.notes import merge_notes
from mlvc_tui.engine.git.refs import read_refs
from mlvc_tui.engine.git.remotes import read_ref, remote_url, update_refs
from mlvc_tui.engine.git.transport import (
    ZERO,
    fetch_objects,
    is_ancestor,
    list_refs,
    peel,
    send_updates,
)
from mlvc_tui.engine.git.writer import identity
from mlvc_tui.engine.remote import lfs_steps  # noqa: F401 (registers the LFS upload step)
from mlvc_tui.engine.remote.seam import before_ref_update

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "NOTES",
    "FetchReport",
    "PushRejected",
    "PushReport",
    "RefMove",
    "fetch",
    "is_version_tag",
    "push",
    "remote_of",
    "stderr_progress",
]

NOTES = "refs/notes/mlvc-approvals"
HEADS, TAGS = "refs/heads/", "refs/tags/"
Progress = Callable[[str], None]


def stderr_progress(text: str) -> None:
    """Progress as the server sends it, to stderr."""
    sys.stderr.write(text)
    sys.stderr.flush()


def _quiet(text: str) -> None:
    return None


def _bytes_progress(progress: Progress) -> Callable[[bytes], None]:
    return lambda data: progress(data.decode("utf-8", "replace"))


def is_version_tag(name: str) -> bool:
    """``<model>@v<version>`` (GTO's naming), the tags promotion writes."""
    model, at, version = name.rpartition("@v")
    return bool(model and at and version[:1].isdigit())


class PushRejected(Refused):
    """The server did not apply a push; ``raced`` when it had moved (plan again)."""

    def __init__(self, message: str, raced: bool) -> None:
        super().__init__(message)
        self.raced = raced


_RACE_WORDS = ("lock", "already exists", "stale", "fetch first", "non-fast-forward", "atomic")


@dataclass(frozen=True, slots=True)
class RefMove:
    """A ref that moved: ``old`` None when it appeared, ``new`` None when it went away."""

    name: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class FetchReport:
    """What a fetch brought."""

    remote: str
    url: str
    branches: tuple[RefMove, ...]  # remote-tracking branches moved, added or pruned
    tags: tuple[str, ...]  # new tags
    tag_conflicts: tuple[str, ...]  # tags that differ on the server (left as they are)
    notes: RefMove | None  # the approvals ref, when it changed
    server_notes: str | None = None  # the server's approvals notes tip

    @property
    def changed(self) -> bool:
        return bool(self.branches or self.tags or self.notes)


@dataclass(frozen=True, slots=True)
class PushReport:
    """What a push sent (every ref moved on the server)."""

    remote: str
    url: str
    refs: tuple[RefMove, ...]


def remote_of(reg: Registry, remote: str | None) -> tuple[str, str]:
    """(name, URL) of ``remote`` (default: the registry's remote)."""
    name = remote or reg.remote
    url = remote_url(reg.repo, name)
    if url is None:
        raise BadInput(
            f"no remote named {name!r} in {reg.root}: add one with `git remote add {name} URL`"
        )
    return name, url


def _wanted(ref: str) -> bool:
    return ref.startswith((HEADS, TAGS)) or ref == NOTES


def fetch(
    reg: Registry, remote: str | None = None, progress: Progress | None = None
) -> FetchReport:
    """Fetch branches, tags and approvals from ``remote``; prune deleted branches."""
    name, url = remote_of(reg, remote)
    server = fetch_objects(reg.repo, url, _wanted, _bytes_progress(progress or _quiet))
    local = read_refs(reg.repo)
    prefix = f"refs/remotes/{name}/"
    changes: dict[str, tuple[str | None, str | None]] = {}
    for ref, sha in server.items():
        if ref.startswith(HEADS) and local.get(prefix + ref[len(HEADS) :]) != sha:
            tracking = prefix + ref[len(HEADS) :]
            changes[tracking] = (local.get(tracking), sha)
    for ref, sha in local.items():
        gone = HEADS + ref[len(prefix) :] not in server
        if ref.startswith(prefix) and not ref.endswith("/HEAD") and gone:
            changes[ref] = (sha, None)
    new_tags, conflicts = [], []
    for ref, sha in server.items():
        if ref.startswith(TAGS) and local.get(ref) != sha:
            if ref in local:
                conflicts.append(ref[len(TAGS) :])
            else:
                changes[ref] = (None, sha)
                new_tags.append(ref[len(TAGS) :])
    notes = _fetch_notes(reg, server.get(NOTES), changes)
    update_refs(reg.repo, changes, f"mlvc fetch {name}")
    _mark_fetched(reg)
    reg.refresh()
    moved = tuple(
        RefMove(ref[len(prefix) :], old, new)
        for ref, (old, new) in sorted(changes.items())
        if ref.startswith(prefix)
    )
    return FetchReport(
        name, url, moved, tuple(new_tags), tuple(conflicts), notes, server.get(NOTES)
    )


def _mark_fetched(reg: Registry) -> None:
    """Remember when this registry last fetched (the status bar shows it)."""
    mark = Path(reg.repo.controldir()) / "mlvc" / "fetched"
    try:
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.write_text(f"{int(time.time())}\n")
    except OSError:
        pass  # read-only: the time is a nicety


def _fetch_notes(
    reg: Registry, theirs: str | None, changes: dict[str, tuple[str | None, str | None]]
) -> RefMove | None:
    """Bring the server's approvals into the local notes ref (merging both sides)."""
    ours = read_ref(reg.repo, NOTES)
    if theirs is None or theirs == ours or (ours and is_ancestor(reg.repo, theirs, ours)):
        return None
    if ours is None or is_ancestor(reg.repo, ours, theirs):
        new = theirs
    else:
        who = identity(reg).decode("utf-8", "replace")
        new = merge_notes(reg.repo, ours, theirs, who, "mlvc: merge approvals from the server")
    changes[NOTES] = (ours, new)
    return RefMove(NOTES, ours, new)


def _tags_into(reg: Registry, tip: str, server: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Version tags on ``tip``'s first-parent history that the server lacks."""
    local = {r: s for r, s in read_refs(reg.repo).items() if r.startswith(TAGS)}
    wanted = {r: s for r, s in local.items() if is_version_tag(r[len(TAGS) :])}
    if not wanted:
        return {}
    chain = {c.id for c in reg.objects.first_parent_chain(tip, 100_000)}
    out = {}
    for ref, sha in wanted.items():
        if peel(reg.repo, sha) not in chain:
            continue
        there = server.get(ref)
        if there is None:
            out[ref] = (ZERO, sha)
        elif there != sha:
            raise Refused(
                f"tag {ref[len(TAGS) :]} is another object on the server: "
                "version tags never move; nothing was pushed"
            )
    return out


def push(
    reg: Registry,
    branches: Iterable[str] = (),
    remote: str | None = None,
    progress: Progress | None = None,
) -> PushReport:
    """Push ``branches`` (default: the checked-out one) with their version tags, atomically."""
    name, url = remote_of(reg, remote)
    wanted = list(branches) or ([reg.head] if reg.head else [])
    if not wanted:
        raise BadInput("no branch checked out: name the branches to push")
    server = list_refs(url)
    updates: dict[str, tuple[str, str]] = {}
    local = read_refs(reg.repo)
    for branch in wanted:
        tip = local.get(HEADS + branch)
        if tip is None:
            raise BadInput(f"no local branch named {branch!r} to push")
        theirs = server.get(HEADS + branch)
        if theirs != tip:
            if theirs is not None and not is_ancestor(reg.repo, theirs, tip):
                raise Refused(
                    f"{branch}: the server's {branch} ({theirs[:8]}) has commits this clone "
                    f"lacks: `mlvc fetch` and merge first; nothing was pushed (never forced)"
                )
            updates[HEADS + branch] = (theirs or ZERO, tip)
        updates.update(_tags_into(reg, tip, server))
    notes = read_ref(reg.repo, NOTES)
    theirs_notes = server.get(NOTES)
    ahead = theirs_notes is None or is_ancestor(reg.repo, theirs_notes, notes or ZERO)
    if notes and notes != theirs_notes and ahead:
        updates[NOTES] = (theirs_notes or ZERO, notes)
    return send(reg, name, url, updates, progress)


def send(
    reg: Registry,
    name: str,
    url: str,
    updates: dict[str, tuple[str, str]],
    progress: Progress | None = None,
) -> PushReport:
    """Send ``updates`` in one atomic push (after the seam's steps); Refused if not applied."""
    if not updates:
        return PushReport(name, url, ())
    emit = progress or _quiet
    before_ref_update(reg, url, updates, emit)
    outcome = send_updates(reg.repo, url, updates, atomic=True, progress=_bytes_progress(emit))
    if not outcome.ok:
        said = " ".join(v or "" for v in outcome.statuses.values()).lower()
        raced = (
            bool(outcome.moved)
            or outcome.reason().startswith("race:")
            or ("hook" not in said and any(word in said for word in _RACE_WORDS))
        )
        raise PushRejected(
            f"the server refused the push: {outcome.reason()}; nothing was changed", raced
        )
    prefix = f"refs/remotes/{name}/"
    local = read_refs(reg.repo)
    tracking: dict[str, tuple[str | None, str | None]] = {}
    for ref, (_, new) in updates.items():
        if ref.startswith(HEADS):
            mine = prefix + ref[len(HEADS) :]
            tracking[mine] = (local.get(mine), new)
        elif ref.startswith(TAGS) and ref not in local:
            tracking[ref] = (None, new)
    update_refs(reg.repo, tracking, f"mlvc push {name}")
    reg.refresh()
    moves = tuple(
        RefMove(ref, None if old == ZERO else old, None if new == ZERO else new)
        for ref, (old, new) in updates.items()
    )
    return PushReport(name, url, moves)
