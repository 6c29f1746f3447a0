"""Model versions MAJOR.MINOR.PIPELINE: the bump rule, the list read from history, tag repair.

The list of versions is derived from the target's first-parent history: every commit whose
message holds a promotion record (records.py), plus older ``<model>@vX.Y.Z`` tags on that
history that have none. Tags are an index over the history: a tag a crash left unwritten is
recreated, byte for byte, from its commit by :func:`repair_tags`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlvc_tui.engine.bounded import load_yaml
from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.commits import (
    RefLocked,
    TagObject,
    add_ref_if_new,
    make_tag_object,
    read_ref,
    tagger_of,
    write_tag_object,
)
from mlvc_tui.engine.git.locks import recover, ref_lock
from mlvc_tui.engine.metrics import compare
from mlvc_tui.engine.promotion.gto import gto_state
from mlvc_tui.engine.promotion.records import PromotionRecord, parse_record
from mlvc_tui.engine.values import CommitInfo, Metrics, Verdict

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "VersionEntry",
    "VersionRules",
    "bump",
    "compute_bump",
    "free_version",
    "latest_version",
    "model_name",
    "parse_version",
    "repair_tags",
    "version_history",
]

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_PROMOTED_FROM = re.compile(r"Promote (\S+) to ")
_CHAIN_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class VersionRules:
    """`[versions]` in mlvc.toml: which changes break the model's contract (MAJOR)."""

    major_paths: tuple[str, ...] = ("data/*schema*",)
    major_params: tuple[str, ...] = ("target", "label")

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> VersionRules:
        table = raw.get("versions", {})
        if not isinstance(table, dict):
            raise BadInput("mlvc.toml: [versions] must be a table")
        out = {}
        for key in ("major_paths", "major_params"):
            value = table.get(key)
            if value is None:
                continue
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadInput(f"mlvc.toml: versions.{key} must be a list of strings")
            out[key] = tuple(value)
        return cls(**out)


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """One promotion or rollback on a target's history (newest first in a list)."""

    kind: str  # "promotion", "rollback", or "tag" for a tag with no record
    version: str | None
    tag: str | None
    tagged: bool  # the tag exists and points at ``commit``
    source: str | None
    source_commit: str | None
    commit: CommitInfo
    user: str
    time: int
    primary: str | None
    value: float | None
    delta: float | None  # against the commit's first parent
    record: PromotionRecord | None = None
    stages: tuple[str, ...] = ()  # GTO stages the version (or commit) holds now, by name


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``"1.2.3"`` or ``"v1.2.3"`` as a tuple, else None."""
    m = _VERSION.fullmatch(text)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def bump(previous: tuple[int, int, int] | None, kind: str) -> str:
    """The next version after ``previous`` for a bump ``kind`` (none before: 1.0.0)."""
    if previous is None:
        return "1.0.0"
    major, minor, pipeline = previous
    if kind == "major":
        return f"{major + 1}.0.0"
    if kind == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{pipeline + 1}"


def model_name(reg: Registry, ref: str | None) -> str:
    """The model's name for version tags: its file's stem (``models/model.pkl`` -> model)."""
    path = reg.config.model or (reg.model_path(ref) if ref else None)
    return Path(path).name.split(".", 1)[0] if path else "model"


def _model_tags(reg: Registry, model: str) -> dict[str, tuple[str, tuple[int, int, int]]]:
    prefix = model + "@"
    out = {}
    for name, commit in reg.tags().items():
        if name.startswith(prefix) and (v := parse_version(name[len(prefix) :])) is not None:
            out[name] = (commit, v)
    return out


def _flat_params(read: Callable[[str], bytes], files: Mapping[str, str]) -> dict[str, object]:
    for name in ("params.yaml", "params.yml"):
        if name in files:
            try:
                doc = load_yaml(name, read(files[name]).decode("utf-8"))
            except (UnicodeDecodeError, BadInput):
                return {}
            out: dict[str, object] = {}
            todo: list[tuple[str, object]] = [("", doc)]
            while todo:
                prefix, node = todo.pop()
                if isinstance(node, dict):
                    todo.extend((f"{prefix}.{k}" if prefix else str(k), v) for k, v in node.items())
                elif prefix:
                    out[prefix] = node
            return out
    return {}


def compute_bump(
    reg: Registry,
    rules: VersionRules,
    old: Mapping[str, str],
    new: Mapping[str, str],
    old_metrics: Metrics,
    new_metrics: Metrics,
    primary: str | None,
    read: Callable[[str], bytes] | None = None,
) -> tuple[str, str]:
    """(bump, reason) from the target's files and metrics before and after (path -> blob).

    ``read`` gives a blob's bytes (default: from the object store).
    """
    read = read or reg.objects.blob
    changed = sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))
    for path in changed:
        if any(fnmatch.fnmatchcase(path, g) for g in rules.major_paths):
            return "major", f"{path} changed (data schema)"
    if any(p in ("params.yaml", "params.yml") for p in changed):
        before, after = _flat_params(read, old), _flat_params(read, new)
        for key in sorted(before.keys() | after.keys()):
            if key.rsplit(".", 1)[-1] in rules.major_params and before.get(key) != after.get(key):
                return "major", f"{key} in params changed (prediction target)"
    if primary:
        a, b = old_metrics.get(primary), new_metrics.get(primary)
        if compare(primary, a, b, reg.config.higher_is_better(primary)).verdict is Verdict.BETTER:
            return "minor", f"{primary} improved ({a:.4g} -> {b:.4g})"
    return "pipeline", f"same data schema and target, {primary or 'primary metric'} not improved"


def latest_version(reg: Registry, model: str, target: str | None) -> tuple[int, int, int] | None:
    """The highest version of ``model`` on the target's history (its records and the
    version tags on it). Tags elsewhere (a `gto register` on an experiment branch) do not
    move the target's numbering; :func:`free_version` steps past their names."""
    if not target or not reg.branch_tip(target):
        return None
    found = [
        v
        for e in version_history(reg, target, model, stages=False)
        if e.version and (v := parse_version(e.version)) is not None
    ]
    return max(found, default=None)


def free_version(reg: Registry, model: str, version: str) -> str:
    """``version``, or the next PIPELINE number whose tag name nobody has taken yet."""
    taken = set(_model_tags(reg, model))
    parsed = parse_version(version)
    while parsed is not None and f"{model}@v{version}" in taken:
        parsed = (parsed[0], parsed[1], parsed[2] + 1)
        version = ".".join(map(str, parsed))
    return version


def _record_at(info: CommitInfo, target: str) -> PromotionRecord | None:
    """The commit's record, when it is genuine: its parents are the ones it names."""
    record = parse_record(info.message)
    if record is None or record.target != target or not info.parents:
        return None
    if info.parents[0] != record.target_commit:
        return None
    if record.kind == "promotion" and tuple(info.parents[1:]) != (record.source_commit,):
        return None
    return record if record.kind in ("promotion", "rollback") else None


def version_history(
    reg: Registry, target: str, model: str | None = None, *, stages: bool = True
) -> tuple[VersionEntry, ...]:
    """Every promotion, rollback and version tag on ``target``'s first-parent history, with
    the GTO stages each holds (unless ``stages`` is False: then none are read)."""
    tip = reg.branch_tip(target)
    if tip is None:
        raise BadInput(f"no branch named {target!r}")
    model = model or model_name(reg, target)
    tags = _model_tags(reg, model)
    by_commit: dict[str, list[str]] = {}
    for name, (commit, _) in sorted(tags.items(), key=lambda t: t[1][1]):
        by_commit.setdefault(commit, []).append(name)
    primary = reg.primary_metric()
    out: list[VersionEntry] = []
    for info in reg.objects.first_parent_chain(tip, _CHAIN_LIMIT):
        record = _record_at(info, target)
        names = by_commit.get(info.id, [])
        if record is None and not names:
            continue
        value = delta = None
        if primary:
            value = reg.metrics_of_tree(reg.objects.commit(info.id)[1]).get(primary)
            if info.parents and value is not None:
                before = reg.metrics_of_tree(reg.objects.commit(info.parents[0])[1]).get(primary)
                delta = value - before if before is not None else None
        if record is not None:
            out.append(
                VersionEntry(
                    record.kind,
                    record.version,
                    record.tag,
                    record.tag in tags and tags[record.tag][0] == info.id,
                    record.source,
                    record.source_commit,
                    info,
                    record.user,
                    record.time,
                    primary,
                    value,
                    delta,
                    record,
                )
            )
            continue
        name = names[-1]
        tagged = tagger_of(reg.repo, f"refs/tags/{name}", reg.tag_ref(name))
        user, when = tagged or (info.author, info.time)
        found = _PROMOTED_FROM.match(info.summary)
        source = found[1] if found else None
        out.append(
            VersionEntry(
                "tag",
                name.rsplit("@", 1)[1].removeprefix("v"),  # a model's name may hold "@"
                name,
                True,
                source,
                info.parents[1] if len(info.parents) > 1 else None,
                info,
                user,
                when,
                primary,
                value,
                delta,
            )
        )
    return _with_stages(reg, model, tuple(out)) if stages else tuple(out)


def _with_stages(
    reg: Registry, model: str, entries: tuple[VersionEntry, ...]
) -> tuple[VersionEntry, ...]:
    """``entries`` with the GTO stages each holds: those on its commit, and for a rollback
    (or a promotion with no version of its own) those on the commit it brought in."""
    state = gto_state(reg, model)
    if not state.commits:
        return entries
    out = []
    for e in entries:
        own = e.kind == "rollback" or (e.kind == "promotion" and not e.version)
        held = state.stages_at(e.commit.id, e.source_commit if own else None)
        out.append(replace(e, stages=held) if held else e)
    return tuple(out)


def repair_tags(reg: Registry, entries: tuple[VersionEntry, ...]) -> tuple[str, ...]:
    """Create the tags a record names but the repository lacks; the names created.

    The tag is rebuilt from its commit (tagger and time from the record, message from the
    commit), so every process that repairs it writes the same object.
    """
    created = []
    for e in entries:
        if e.record is None or not e.tag or e.tagged:
            continue
        ref = f"refs/tags/{e.tag}"
        if read_ref(reg.repo, ref) is not None:
            continue  # a tag of that name points elsewhere: leave it
        tag = make_tag(e.tag, e.commit.id, e.record, e.commit.message)
        for attempt in range(2):
            try:
                tag_id = write_tag_object(reg.repo, tag)
                if add_ref_if_new(reg.repo, ref, tag_id, locked_raises=True):
                    created.append(e.tag)
            except RefLocked:  # busy, or a lock a crash left: that one is recovered
                lock = ref_lock(reg.repo.commondir(), f"refs/tags/{e.tag}")
                if attempt == 0 and lock is not None and recover(lock):
                    continue
            except OSError:
                pass  # read-only: the next command repairs it
            break
    if created:
        reg.refresh()
    return tuple(created)


def make_tag(name: str, commit: str, record: PromotionRecord, message: str) -> TagObject:
    """The annotated version tag of a record's commit (not yet stored)."""
    return make_tag_object(name, commit, record.user, record.time, record.tz_offset, message)
