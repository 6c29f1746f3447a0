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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlvc_tui.engine.git.commits import add_ref_if_new, annotated_tags, write_tag_object
from mlvc_tui.engine.promotion.versions import make_tag

if TYPE_CHECKING:
    from mlvc_tui.engine.promotion.records import PromotionRecord
    from mlvc_tui.engine.registry import Registry

__all__ = ["GtoEvent", "GtoState", "gto_events", "gto_state", "write_stage_tags"]

_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"
_TAG = re.compile(
    rf"^(?P<artifact>[a-zA-Z0-9\-_./=]*?{_NAME})"
    rf"(?:(?:#(?P<stage>{_NAME})|@(?P<version>v\d+\.\d+\.\d+))(?P<cancel>!?)"
    r"|@(?P<deprecated>deprecated))(?:#(?P<counter>\d+))?$"
)


@dataclass(frozen=True, slots=True)
class GtoEvent:
    """One GTO tag: what it did, to which version or stage, when and on which commit."""

    tag: str
    action: str  # register, deregister, assign, unassign, deprecate
    commit: str
    time: int
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
    """Every annotated GTO tag of ``artifact``, oldest first (time, then counter)."""
    out = []
    for name, commit, when in annotated_tags(reg.repo):  # GTO ignores lightweight tags
        parsed = _parse(name)
        if parsed is None or parsed[0] != artifact:
            continue
        _, action, version, stage, counter = parsed
        out.append(GtoEvent(name, action, commit, when, version, stage, counter))
    return tuple(sorted(out, key=lambda e: (e.time, e.counter or 0, e.tag)))


def gto_state(reg: Registry, artifact: str) -> GtoState:
    """The stages, deregistrations and deprecation GTO's tags record for ``artifact``."""
    events = gto_events(reg, artifact)
    version_of = {e.commit: e.version for e in events if e.action == "register" and e.version}
    active: dict[tuple[str, str], int] = {}  # (stage, commit) -> time of its last assignment
    for e in events:
        if e.stage is None:
            continue
        if e.action == "assign":
            active[(e.stage, e.commit)] = e.time
        else:
            active.pop((e.stage, e.commit), None)
    newest: dict[str, tuple[int, str]] = {}
    for (stage, commit), when in active.items():
        if stage not in newest or when >= newest[stage][0]:
            newest[stage] = (when, commit)
    return GtoState(
        {stage: version_of.get(commit) or "" for stage, (_, commit) in sorted(newest.items())},
        frozenset(e.version for e in events if e.action == "deregister" and e.version),
        any(e.action == "deprecate" for e in events),
        max((e.counter or 0 for e in events), default=0) + 1,
    )


def _holders(reg: Registry, artifact: str, stage: str) -> list[str]:
    """Commits whose last event for ``stage`` is an assignment."""
    last: dict[str, str] = {}
    for e in gto_events(reg, artifact):
        if e.stage == stage:
            last[e.commit] = e.action
    return [c for c, action in last.items() if action == "assign"]


def stage_tag_objects(
    reg: Registry, artifact: str, stage: str, commit: str, record: PromotionRecord, message: str
) -> list[Any]:
    """The annotated tag objects that move GTO's ``stage`` of ``artifact`` to ``commit``
    (unassign from every other holder, assign here; GTO's counters), not yet written."""
    n = gto_state(reg, artifact).next_counter
    holders = _holders(reg, artifact, stage)
    plans = [(f"{artifact}#{stage}!", c) for c in holders if c != commit]
    if commit not in holders:
        plans.append((f"{artifact}#{stage}", commit))
    return [make_tag(f"{name}#{n + i}", at, record, message) for i, (name, at) in enumerate(plans)]


def write_stage_tags(
    reg: Registry, artifact: str, stage: str, commit: str, record: PromotionRecord, message: str
) -> tuple[str, ...]:
    """Move GTO's ``stage`` of ``artifact`` to the version on ``commit``: unassign it from
    every other commit holding it, assign it here (annotated tags, GTO's counters); the
    tag names written."""
    written = []
    for tag in stage_tag_objects(reg, artifact, stage, commit, record, message):
        tag_id = write_tag_object(reg.repo, tag)
        if add_ref_if_new(reg.repo, f"refs/tags/{tag.name.decode()}", tag_id):
            written.append(tag.name.decode())
    if written:
        reg.refresh()
    return tuple(written)
