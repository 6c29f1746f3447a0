"""Where a model came from, and how a metric moved along a branch's history."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from mlvc_tui.engine.bounded import check_size, load_json, load_yaml
from mlvc_tui.engine.errors import BadInput, MlvcError
from mlvc_tui.engine.git.objects import GITLINK
from mlvc_tui.engine.values import (
    Artifact,
    HistoryPair,
    HistorySide,
    Lineage,
    LineageRecord,
    MetricPoint,
    ModelVersion,
    Storage,
)

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["history", "history_pair", "lineage", "record_path"]

_CONFIG_FILES = ("params.yaml", "params.yml", "mlvc.toml")
_MAX_VERSIONS = 50


def record_path(model: str) -> str:
    """models/model.pkl -> models/model.lineage.json."""
    folder, _, name = model.rpartition("/")
    stem = name.split(".", 1)[0]
    return f"{folder}/{stem}.lineage.json" if folder else f"{stem}.lineage.json"


def _find_model(reg: Registry, ref: str, tip: str, model: str | None) -> str:
    if model is None:
        found = reg.model_path(tip)
        if found is None:
            raise BadInput(f"{ref} has no model: expected models/model.* or one file in models/")
        return found
    arts = reg.artifacts(tip)
    if model in arts:
        return model
    named = sorted(
        p
        for p, a in arts.items()
        if a.kind == "models"
        and not p.endswith(".lineage.json")
        and p.rsplit("/", 1)[-1].split(".", 1)[0] == model
    )
    if not named:
        raise BadInput(f"no model {model!r} on {ref}")
    return named[0]


def _artifact_at(reg: Registry, tree: str, path: str) -> Artifact | None:
    hit = reg.objects.lookup(tree, path)
    if hit is None:
        return None
    mode, sha = hit
    if mode == GITLINK:
        return Artifact(path, "models", sha, sha, None, Storage.SUBMODULE)
    if mode & 0o170000 == 0o040000:  # a folder model: one artifact (see Registry.artifacts)
        return reg.artifacts_of_tree(tree).get(path)
    lfs = reg.lfs_paths(tree)
    info = reg.objects.blob_info(sha, bool(lfs) and lfs.match(path))
    return Artifact(path, "models", info.id, sha, info.size, info.storage)


def _versions(reg: Registry, tip: str, path: str) -> list[ModelVersion]:
    """Commits of the first-parent history that changed the file, newest first."""
    versions: list[ModelVersion] = []
    chain = reg.objects.first_parent_chain(tip, 100_000)
    arts = [_artifact_at(reg, reg.objects.commit(c.id)[1], path) for c in chain]
    for i, (commit, art) in enumerate(zip(chain, arts, strict=True)):
        if art is None:
            break
        older = arts[i + 1] if i + 1 < len(arts) else None
        if older is None or older.blob_id != art.blob_id:
            versions.append(ModelVersion(commit, art))
            if len(versions) >= _MAX_VERSIONS:
                break
    return versions


def _ids_below(reg: Registry, tree: str, folder: str) -> dict[str, str]:
    hit = reg.objects.lookup(tree, folder)
    if hit is None:
        return {}
    mode, sha = hit
    if mode == GITLINK or mode & 0o170000 != 0o040000:
        return {folder: sha}
    lfs = reg.lfs_paths(tree)
    return {
        f"{folder}/{p}": e.sha
        if e.is_gitlink
        else reg.objects.blob_info(e.sha, bool(lfs) and lfs.match(f"{folder}/{p}")).id
        for p, e in reg.objects.files(sha).items()
    }


def _params(reg: Registry, tree: str) -> dict[str, object]:
    for name in ("params.yaml", "params.yml"):
        hit = reg.objects.lookup(tree, name)
        if hit is None:
            continue
        try:
            check_size(name, reg.objects.size(hit[1]))
            doc = load_yaml(name, reg.objects.blob(hit[1]).decode("utf-8"))
        except (UnicodeDecodeError, BadInput):
            return {}
        return _flatten_params(doc, "")
    return {}


def _flatten_params(node: object, prefix: str) -> dict[str, object]:
    if not isinstance(node, dict):
        return {prefix: node} if prefix else {}
    out: dict[str, object] = {}
    for k, v in node.items():
        out.update(_flatten_params(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _model_sha256(reg: Registry, art: Artifact) -> str | None:
    """The sha256 of the model's bytes: the LFS oid, else hashed from the blob."""
    if art.storage is Storage.LFS:
        return art.id
    if art.storage is Storage.SUBMODULE:
        return None
    return hashlib.sha256(reg.objects.blob(art.blob_id)).hexdigest()


def _record(reg: Registry, tree: str, path: str, model: Artifact) -> LineageRecord | None:
    hit = reg.objects.lookup(tree, path)
    if hit is None:
        return None
    try:
        check_size(path, reg.objects.size(hit[1]))
        doc = load_json(path, reg.objects.blob(hit[1]).decode("utf-8"))
    except UnicodeDecodeError as exc:
        return LineageRecord(path, {}, f"{path} is not valid JSON: {exc}")
    except BadInput as exc:
        return LineageRecord(path, {}, str(exc))
    if not isinstance(doc, dict):
        return LineageRecord(path, {}, f"{path} is not a JSON object")
    recorded = doc.get("sha256")
    matches = recorded == _model_sha256(reg, model) if isinstance(recorded, str) else None
    return LineageRecord(path, doc, matches=matches)


def lineage(reg: Registry, model: str | None = None, branch: str | None = None) -> Lineage:
    """The lineage of a model (name or path) on a branch (default: prod)."""
    ref = branch or reg.prod or "HEAD"
    tip = reg.resolve(ref)
    path = _find_model(reg, ref, tip, model)
    versions = _versions(reg, tip, path)
    if not versions:
        raise BadInput(f"{path} has no history on {ref}")
    current = versions[0]
    tree = reg.objects.commit(current.commit.id)[1]
    config: dict[str, str] = {}
    for name in _CONFIG_FILES:
        if (hit := reg.objects.lookup(tree, name)) is not None:
            config[name] = hit[1]
    config.update(_ids_below(reg, tree, "config"))
    code = reg.objects.lookup(tree, "src")
    tags = reg.tags_by_commit().get(current.commit.id, ())
    return Lineage(
        branch=ref,
        model=path,
        version=current,
        code=code[1] if code else None,
        data=_ids_below(reg, tree, "data"),
        config=config,
        params=_params(reg, tree),
        previous=tuple(versions[1:]),
        record=_record(reg, tree, record_path(path), current.artifact),
        merged_from=current.commit.parents[1:],
        tags=tags,
    )


def history(
    reg: Registry, metric: str, branch: str | None = None, limit: int = 200
) -> tuple[MetricPoint, ...]:
    """A metric's value at each commit of a branch's first-parent history, newest first."""
    ref = branch or reg.prod or "HEAD"
    chain = reg.objects.first_parent_chain(reg.resolve(ref), limit)
    points = []
    seen = False
    for commit in chain:
        value = reg.metrics_of_tree(reg.objects.commit(commit.id)[1]).get(metric)
        seen = seen or value is not None
        points.append(MetricPoint(commit, value))
    if not seen:
        known = sorted(reg.metrics(ref).values)
        hint = (
            f" (known: {', '.join(known[:8])}{', ...' if len(known) > 8 else ''})" if known else ""
        )
        raise BadInput(f"metric {metric!r} is not on {ref}{hint}")
    return tuple(points)


def history_pair(reg: Registry, metric: str, a: str, b: str, limit: int = 200) -> HistoryPair:
    """``metric`` along both refs' first-parent histories, with b's fork from a."""
    sides = []
    for ref in (a, b):
        try:
            sides.append(HistorySide(ref, history(reg, metric, ref, limit)))
        except MlvcError:
            sides.append(HistorySide(ref, problem=f"no history on {ref}"))
    shared = {p.commit.id for p in sides[0].points}
    fork = next((p.commit.id for p in sides[1].points if p.commit.id in shared), None)
    return HistoryPair(metric, sides[0], sides[1], fork)
