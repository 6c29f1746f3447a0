"""Which GTO stage a promotion or rollback moves, and to which commit; repairing the stage
tags a crash left out.

GTO's model: a stage assignment points at a version, and a version is a commit (named by
its registration tag, ``model@vX.Y.Z``, when it has one). So:

- a promotion into a versioned environment (prod) assigns the stage to the commit its
  version tag names; a rollback, to the restored version's commit;
- a promotion into another environment (staging, dev: no versions there) assigns the stage
  to the candidate's commit when that commit carries a version tag of the model (it is
  that version: `gto register` on the branch, or prod's tagged commit sent back down);
  otherwise to the commit the environment now serves, unregistered, as
  ``gto assign --skip-registration`` does (GTO shows the commit id as the version).
  gto 1.10 ignores the unassignment of an unregistered commit and shows the stage's
  newest assignment by tag time (whole seconds), so a move's stage tags are dated after
  every other commit's assignment of that stage (gto.stage_tag_objects).

Stage tags are written after the target moved and the version tag landed. A crash before
they are written is repaired from the newest record on the target by the next promotion or
rollback there, by ``mlvc versions`` and by ``mlvc doctor --fix``: the tags are rebuilt
from the record (tagger, time) and the commit's message, so every process that repairs
them writes the same objects. Nothing is repaired once any stage event of that stage is
newer than the record (someone moved the stage since), nor for a deregistered version or
a deprecated model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlvc_tui.engine.git.commits import add_ref_if_new, write_tag_object
from mlvc_tui.engine.promotion.gto import STAGE_NAME, gto_events, gto_state, stage_tag_objects
from mlvc_tui.engine.promotion.versions import (
    VersionEntry,
    model_name,
    parse_version,
    repair_tags,
    version_history,
)

if TYPE_CHECKING:
    from mlvc_tui.engine.promotion.records import PromotionRecord
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "missing_stage_tags",
    "repair_stage_tags",
    "stage_of",
    "tag_repairs",
    "write_stage_tags",
]


def _version_tag_at(reg: Registry, model: str, commit: str) -> str | None:
    """The highest ``model@vX.Y.Z`` tag on ``commit``, if any."""
    prefix = model + "@"
    found = [
        (v, name)
        for name, at in reg.tags().items()
        if at == commit
        and name.startswith(prefix)
        and (v := parse_version(name[len(prefix) :])) is not None
    ]
    return max(found)[1] if found else None


def stage_of(
    reg: Registry, record: PromotionRecord, commit: str, tag_name: str | None = None
) -> tuple[str, str] | None:
    """(artifact, commit) that GTO's stage ``record.target`` points at after the write that
    made ``commit``; None when GTO has no stage for it. ``tag_name``: the version tag being
    written with it (a remote push), which need not exist locally yet."""
    target = record.target
    if STAGE_NAME.fullmatch(target) is None:
        return None
    if record.kind == "rollback" or record.version:
        at = commit if record.kind == "promotion" else record.source_commit
        if not (record.model and record.version and at):
            return None
        version_tag = f"{record.model}@v{record.version}"
        if tag_name != version_tag and reg.tags().get(version_tag) != at:
            return None  # no version tag of ours on that commit: GTO would not know it
        return record.model, at
    if record.kind != "promotion" or target not in (reg.prod, *reg.config.environments):
        return None
    model = model_name(reg, target)
    if record.source_commit and _version_tag_at(reg, model, record.source_commit):
        return model, record.source_commit
    return model, commit


def write_stage_tags(
    reg: Registry, record: PromotionRecord, commit: str, message: str
) -> tuple[str, ...]:
    """Move GTO's stage of ``record.target`` where :func:`stage_of` says (unassign it from
    every other commit holding it, assign it there); the tag names written."""
    where = stage_of(reg, record, commit)
    if where is None:
        return ()
    artifact, at = where
    return _write(reg, stage_tag_objects(reg, artifact, record.target, at, record, message))


def _write(reg: Registry, tags: list[Any]) -> tuple[str, ...]:
    written = []
    for tag in tags:
        name = tag.name.decode()
        try:
            if add_ref_if_new(reg.repo, f"refs/tags/{name}", write_tag_object(reg.repo, tag)):
                written.append(name)
        except OSError:
            break  # read-only: the next command that can write repairs it
    if written:
        reg.refresh()
    return tuple(written)


def missing_stage_tags(reg: Registry, target: str, entries: tuple[VersionEntry, ...]) -> list[Any]:
    """The stage tags the newest record on ``target`` (``entries``, newest first) should
    have left and did not (a crash): the tag objects, not yet written."""
    newest = next((e for e in entries if e.record is not None), None)
    if newest is None or newest.record is None:
        return []
    record = newest.record
    where = stage_of(reg, record, newest.commit.id)
    if where is None:
        return []
    artifact, at = where
    events = gto_events(reg, artifact)
    if any(e.stage == target and (e.time or 0) > record.time for e in events):
        return []  # the stage moved since (gto assign, a later write): not ours to undo
    state = gto_state(reg, artifact)
    if state.deprecated or (record.version and record.version in state.deregistered):
        return []
    return stage_tag_objects(reg, artifact, target, at, record, newest.commit.message)


def repair_stage_tags(
    reg: Registry, target: str, entries: tuple[VersionEntry, ...]
) -> tuple[str, ...]:
    """Write the stage tags :func:`missing_stage_tags` finds; the names written."""
    return _write(reg, missing_stage_tags(reg, target, entries))


def tag_repairs(reg: Registry, fix: bool = False) -> tuple[tuple[str, str, bool], ...]:
    """(branch, tag, recreated) for every version or stage tag prod and the environments
    lack (a crash between a write's steps); with ``fix``, recreated (version tags first:
    a stage tag needs its version's)."""
    out: list[tuple[str, str, bool]] = []
    for target in dict.fromkeys(b for b in (reg.prod, *reg.config.environments) if b):
        if reg.branch_tip(target) is None:
            continue
        entries = version_history(reg, target, stages=False)
        lost = [
            e.tag
            for e in entries
            if e.record is not None and e.tag and not e.tagged and reg.tag_ref(e.tag) is None
        ]
        if fix and lost:
            made = set(repair_tags(reg, entries))
            out += [(target, t, t in made) for t in lost]
            entries = version_history(reg, target, stages=False)
        else:
            out += [(target, t, False) for t in lost]
        if fix:
            out += [(target, t, True) for t in repair_stage_tags(reg, target, entries)]
        else:
            out += [
                (target, t.name.decode(), False) for t in missing_stage_tags(reg, target, entries)
            ]
    return tuple(out)
