"""GTO (Git Tag Ops) stage tags: written on every promotion and rollback, read from others.

GTO's formats (checked against gto 1.10): ``name@vX.Y.Z`` registers a version (mlvc's own
version tag), ``name#stage#N`` assigns a stage to the version on the tag's commit,
``name#stage!#N`` unassigns it, ``name@vX.Y.Z!`` deregisters a version, ``name@deprecated``
deprecates the artifact; ``#N`` counts events per artifact (one above the highest counter
of any of its tags). Only annotated tags count. When a promotion or rollback moves an
environment to a version, the stage is unassigned from the version that held it and
assigned to the new one, so ``gto which``, ``gto show`` and ``gto history`` say what
``mlvc versions`` says whichever way GTO sorts.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlvc_tui.engine.git.commits import make_tag_object
from mlvc_tui.engine.git.refs import peeled_tag
from mlvc_tui.engine.git.tagfacts import tag_facts_many

if TYPE_CHECKING:
    from mlvc_tui.engine.promotion.records import PromotionRecord
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "GtoEvent",
    "GtoState",
    "gto_events",
    "gto_state",
    "stage_tag_objects",
]

_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"
_TAG = re.compile(
    rf"^(?P<artifact>[a-zA-Z0-9\-_./=]*?{_NAME})"
    rf"(?:(?:#(?P<stage>{_NAME})|@(?P<version>v\d+\.\d+\.\d+))(?P<cancel>!?)"
    r"|@(?P<deprecated>deprecated))(?:#(?P<counter>\d+))?$"
)
STAGE_NAME = re.compile(_NAME)
# per registry: (artifact, the tag refs read, the events they made), for the next call
_SEEN: weakref.WeakKeyDictionary[Registry, tuple[str, dict[str, str], tuple[GtoEvent, ...]]]
_SEEN = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class GtoEvent:
    """One GTO tag: what it did, to which version or stage, on which commit (and, for a
    stage's assignment or unassignment, when: the only events whose order matters)."""

    tag: str
    action: str  # register, deregister, assign, unassign, deprecate
    commit: str
    time: int | None = None  # the tag's time (stage events only: others are not read)
    version: str | None = None  # "1.2.0" (register, deregister)
    stage: str | None = None  # (assign, unassign)
    counter: int | None = None


@dataclass(frozen=True, slots=True)
class GtoState:
    """What GTO's tags say of one artifact now."""

    stages: dict[str, str]  # stage -> the version holding it ("" when none is registered)
    deregistered: frozenset[str]
    deprecated: bool
    next_counter: int
    commits: dict[str, str] = field(default_factory=dict)  # stage -> the commit holding it

    def stages_at(self, *commits: str | None) -> tuple[str, ...]:
        """The stages a version on one of ``commits`` holds, by name."""
        return tuple(s for s, c in sorted(self.commits.items()) if c in commits)


def _parse(name: str) -> tuple[str, str, str | None, str | None, int | None] | None:
    m = _TAG.match(name)
    if m is None:
        return None
    counter = int(m["counter"]) if m["counter"] else None
    if m["deprecated"]:
        return m["artifact"], "deprecate", None, None, counter
    cancel = m["cancel"] == "!"
    if m["stage"]:
        return m["artifact"], "unassign" if cancel else "assign", None, m["stage"], counter
    version = m["version"].removeprefix("v")
    return m["artifact"], "deregister" if cancel else "register", version, None, counter


def gto_events(reg: Registry, artifact: str) -> tuple[GtoEvent, ...]:
    """Every annotated GTO tag of ``artifact``: stage events oldest first (time, then
    counter), after the others. Only tags whose names are GTO's are looked at; of those,
    only stage tags' objects are read (for their time, kept across processes by
    git/tagfacts.py): a registration's commit comes from packed-refs' peeled line."""
    refs = reg.tag_refs()
    seen = _SEEN.get(reg)
    if seen is not None and seen[0] == artifact and seen[1] == refs:
        return seen[2]  # the same tags as last time: the same events
    size = len(artifact)
    found = []
    for name, sha in refs.items():
        if not name.startswith(artifact) or name[size : size + 1] not in ("@", "#"):
            continue
        parsed = _parse(name)
        if parsed is not None and parsed[0] == artifact:
            found.append((name, sha, parsed, None if parsed[3] else peeled_tag(sha)))
    facts = tag_facts_many(reg.repo, (sha for _, sha, _, peeled in found if peeled is None))
    out = []
    for name, sha, (_, action, version, stage, counter), peeled in found:
        fact = (peeled, None) if peeled else facts[sha]
        if fact is None:
            continue  # a lightweight tag: GTO ignores it
        commit, when = fact
        out.append(GtoEvent(name, action, commit, when if stage else None, version, stage, counter))
    events = tuple(
        sorted(out, key=lambda e: (e.time is not None, e.time or 0, e.counter or 0, e.tag))
    )
    _SEEN[reg] = (artifact, refs, events)
    return events


def _active(events: tuple[GtoEvent, ...], stage: str | None = None) -> dict[tuple[str, str], int]:
    """(stage, commit) -> time of its last assignment, for those whose last event assigns."""
    active: dict[tuple[str, str], int] = {}
    for e in events:
        if e.stage is None or (stage is not None and e.stage != stage):
            continue
        if e.action == "assign":
            active.pop((e.stage, e.commit), None)  # re-inserted: the newest assignment last
            active[(e.stage, e.commit)] = e.time or 0
        else:
            active.pop((e.stage, e.commit), None)
    return active


def gto_state(reg: Registry, artifact: str) -> GtoState:
    """The stages, deregistrations and deprecation GTO's tags record for ``artifact``."""
    return _state(gto_events(reg, artifact))


def _state(events: tuple[GtoEvent, ...]) -> GtoState:
    version_of = {e.commit: e.version for e in events if e.action == "register" and e.version}
    newest: dict[str, tuple[int, str]] = {}
    for (stage, commit), when in _active(events).items():
        if stage not in newest or when >= newest[stage][0]:
            newest[stage] = (when, commit)
    held = {stage: commit for stage, (_, commit) in sorted(newest.items())}
    return GtoState(
        {stage: version_of.get(commit) or "" for stage, commit in held.items()},
        frozenset(e.version for e in events if e.action == "deregister" and e.version),
        any(e.action == "deprecate" for e in events),
        max((e.counter or 0 for e in events), default=0) + 1,
        held,
    )


def stage_tag_objects(
    reg: Registry, artifact: str, stage: str, commit: str, record: PromotionRecord, message: str
) -> list[Any]:
    """The annotated tag objects that move GTO's ``stage`` of ``artifact`` to ``commit``
    (unassign from every other holder, assign here; GTO's counters), not yet written.
    Tagger and time are the record's, so two processes planning the same move write the
    same objects. GTO orders assignments by their tags' whole seconds (and ignores the
    unassignment of an unregistered commit), so the time is moved past every other
    commit's assignment of the stage: a second move within one second is still the newest
    (the same events give the same time, so a repair writes the same objects)."""
    events = gto_events(reg, artifact)
    n = _state(events).next_counter
    holders = [c for (_, c) in _active(events, stage)]
    plans = [(f"{artifact}#{stage}!", c) for c in holders if c != commit]
    if commit not in holders:
        plans.append((f"{artifact}#{stage}", commit))
    others = (
        e.time or 0
        for e in events
        if e.stage == stage and e.action == "assign" and e.commit != commit
    )
    when = max([record.time, *(t + 1 for t in others)])
    return [
        make_tag_object(f"{name}#{n + i}", at, record.user, when, record.tz_offset, message)
        for i, (name, at) in enumerate(plans)
    ]
