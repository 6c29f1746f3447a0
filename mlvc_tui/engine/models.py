"""Saving a model with its metrics and lineage record in one commit, and loading it back only
after its bytes match the sha256 that record holds.

Formats: ``pickle`` (default), ``joblib``, ``skops`` and ``raw`` (bytes, a binary file or a
local path). A model is streamed to the repository while it is serialised, and hashed on the
way, so saving costs the model's own memory plus a few megabytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mlvc_tui.engine.errors import BadInput, ModelIntegrityError
from mlvc_tui.engine.git.blobio import CHUNK, Readable, read_chunks, temp_dir
from mlvc_tui.engine.git.files import file_mode, open_read, stat
from mlvc_tui.engine.git.lfs import LfsCorrupt
from mlvc_tui.engine.git.staging import BranchFile, FileTransaction
from mlvc_tui.engine.lineage import record_path
from mlvc_tui.engine.provenance import data_ids, environment, now_iso
from mlvc_tui.engine.values import Storage

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "FORMATS",
    "ModelIntegrityError",
    "SavedModel",
    "branch_start",
    "fetch_model",
    "infer_format",
    "load_model",
    "read_record",
    "resolve_model_ref",
    "save_model",
]

FORMATS = ("pickle", "joblib", "skops", "raw", "mlflow", "folder")
FOLDER_FORMATS = ("mlflow", "folder")
_SUFFIXES = {".pkl": "pickle", ".pickle": "pickle", ".joblib": "joblib", ".skops": "skops"}
_IN_MEMORY = 64 << 20  # checked in memory up to this; larger blobs go through a temp file


@dataclass(frozen=True, slots=True)
class SavedModel:
    """What `save_model` wrote: where, in which commit, and the bytes' identity."""

    path: str
    branch: str
    commit: str
    sha256: str
    size: int
    format: str
    storage: Storage
    record: str  # the lineage record's path
    metrics: str | None  # the metrics file's path, when metrics were given


def infer_format(path: str, model: object = None) -> str:
    """The format a path's suffix names; raw bytes for bytes, files and paths; else pickle."""
    if isinstance(model, str | os.PathLike) and Path(model).is_dir():
        return "mlflow" if (Path(model) / "MLmodel").is_file() else "folder"
    suffix = Path(path).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if isinstance(model, bytes | bytearray | memoryview | os.PathLike) or hasattr(model, "read"):
        return "raw"
    return "pickle" if model is not None else "raw"


def _module(fmt: str) -> Any:
    if fmt not in FORMATS:
        raise BadInput(f"unknown model format {fmt!r} (known: {', '.join(FORMATS)})")
    if fmt in ("joblib", "skops"):
        try:
            return __import__("skops.io" if fmt == "skops" else "joblib", fromlist=["_"])
        except ImportError:
            raise BadInput(f"the {fmt} format needs the {fmt} package: pip install {fmt}") from None
    return None


def _dump(model: object, fmt: str, out: IO[bytes]) -> None:
    module = _module(fmt)
    if fmt == "pickle":
        import pickle

        pickle.dump(model, out, protocol=pickle.HIGHEST_PROTOCOL)
    elif fmt == "raw":
        if isinstance(model, bytes | bytearray | memoryview):
            out.write(model)
        elif isinstance(model, os.PathLike):
            with open(model, "rb") as fh:
                for chunk in read_chunks(fh):
                    out.write(chunk)
        elif isinstance(model, Readable):  # as hasattr(model, "read")
            for chunk in read_chunks(model):
                out.write(chunk)
        else:
            raise BadInput(
                f"the raw format takes bytes, a binary file or a path, not {type(model).__name__}"
            )
    else:
        module.dump(model, out)


def _load(fh: IO[bytes], fmt: str, options: Mapping[str, Any]) -> object:
    module = _module(fmt)
    if fmt == "pickle":
        import pickle

        return pickle.load(fh)  # checked against its record first
    if fmt == "raw":
        return fh.read()
    if fmt == "skops":
        return module.load(fh, **options)
    return module.load(fh)


def _json(value: object) -> bytes:
    def plain(obj: object) -> object:
        if hasattr(obj, "item"):  # numpy scalars
            return obj.item()
        if hasattr(obj, "tolist"):
            return obj.tolist()
        raise BadInput(f"{type(obj).__name__} cannot be written as JSON")

    return (json.dumps(value, indent=2, default=plain) + "\n").encode()


def branch_start(
    reg: Registry, branch: str, start: str | None, message: str
) -> tuple[str | None, str]:
    """Where a write to a branch that does not exist starts it (``start``, else prod), and
    the commit message saying so; BadInput when there is no such start."""
    if reg.branch_tip(branch) is not None:
        return start, message
    start = start or reg.prod
    if start is None:
        raise BadInput(f"no branch {branch} and no prod to start it from: pass start='REF'")
    commit = reg.resolve(start)
    return start, f"{message}\n\nBranch {branch} created from {start} ({commit[:8]})."


def save_model(
    reg: Registry,
    model: object,
    path: str,
    *,
    branch: str,
    message: str | None = None,
    format: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    data: Iterable[str] = (),
    start: str | None = None,
    code_commit: str | None = None,
    command: str | None = None,
    input_example: Any = None,
) -> SavedModel:
    """Serialise ``model`` to ``path`` on ``branch`` with its metrics file and lineage record,
    as one commit. A branch that does not exist is created from ``start``.

    ``format="mlflow"`` writes an MLflow model folder at ``path`` (suffix dropped) for a model
    with ``predict`` (its signature from ``input_example``); a local folder (MLflow's or any)
    is stored as it is. Either is one artifact: its sha256 is the manifest of its files'."""
    fmt = format or infer_format(path, model)
    _module(fmt)
    if metrics is not None and not isinstance(metrics, Mapping):
        raise BadInput("metrics must be a mapping of names to numbers")
    if fmt in FOLDER_FORMATS:  # a folder model is saved at models/<name>, no suffix
        path = path.rsplit(".", 1)[0] if Path(path).suffix in _SUFFIXES else path
    start, text = branch_start(reg, branch, start, message or f"Save model {path}")
    tx = FileTransaction(reg, branch, text, start)
    ids = data_ids(reg, tx.parent, data)
    stem = Path(path).name.split(".", 1)[0]
    extra: dict[str, Any] = {}
    if fmt in FOLDER_FORMATS:
        digest, size, extra = _stage_folder_model(reg, tx, model, path, fmt, input_example)
    else:
        with BranchFile(tx, path, commit=False) as out:
            _dump(model, fmt, out)
            digest, size = out.sha256, out.size
    metrics_path = f"metrics/{stem}.json" if metrics is not None else None
    if metrics_path:
        tx.put(metrics_path, _json(dict(metrics or {})))
    record = {
        "path": path,
        "sha256": digest,
        "size": size,
        "format": fmt,
        "code_commit": code_commit or tx.parent,
        "data": ids,
        "params": dict(params or {}),
        "metrics": dict(metrics or {}),
        **environment(model, command),
        "time": now_iso(),
        **extra,
    }
    tx.put(record_path(path), _json(record))
    commit = tx.commit()
    storage = Storage.LFS if tx.lfs_match(path) else Storage.BLOB
    if fmt in FOLDER_FORMATS:
        storage = Storage.LFS if extra.get("lfs_files") else Storage.BLOB
    return SavedModel(
        path, branch, commit, digest, size, fmt, storage, record_path(path), metrics_path
    )


def _stage_folder_model(
    reg: Registry, tx: FileTransaction, model: object, path: str, fmt: str, example: Any
) -> tuple[str, int, dict[str, Any]]:
    """Stage a folder model; (manifest sha256, total size, record fields)."""
    from mlvc_tui.engine.folder_models import (
        manifest_sha256,
        parse_mlmodel,
        stage_folder,
        tree_files,
        write_mlflow_folder,
    )

    existing: list[str] = []
    if tx.parent is not None:
        try:
            if stat(reg, tx.parent, path).type == "directory":
                existing = tree_files(reg, tx.parent, path)
        except BadInput:
            pass
    with tempfile.TemporaryDirectory(dir=temp_dir(reg)) as tmp:
        if isinstance(model, str | os.PathLike) and Path(model).is_dir():
            folder = Path(model)
        elif fmt == "mlflow":
            folder = Path(tmp) / Path(path).name
            write_mlflow_folder(model, folder, example)
        else:
            raise BadInput("format='folder' takes the path of a local folder")
        files, size = stage_folder(tx, folder, path, existing)
        mlmodel = (folder / "MLmodel").read_bytes() if (folder / "MLmodel").is_file() else None
    doc = parse_mlmodel(mlmodel) if mlmodel else None
    extra: dict[str, Any] = {"files": files}
    extra["lfs_files"] = sorted(r for r in files if tx.lfs_match(f"{path}/{r}"))
    if doc is not None:
        extra["flavors"] = sorted(doc.get("flavors") or {})
        extra["signature"] = doc.get("signature")
    return manifest_sha256(files), size, extra


def resolve_model_ref(reg: Registry, ref: str | None, path: str | None) -> tuple[str, str]:
    """(ref, model path): ``v1.2.0`` also finds the version tag ``<model>@v1.2.0``."""
    ref = ref or reg.prod or "HEAD"
    try:
        reg.resolve(ref)
    except BadInput:
        stem = Path(path or reg.config.model or "models/model").name.split(".", 1)[0]
        if not ref.startswith("v") or f"{stem}@{ref}" not in reg.tags():
            raise
        ref = f"{stem}@{ref}"
    found = path or reg.model_path(ref)
    if found is None:
        raise BadInput(f"{ref} has no model: name its path (e.g. models/model.pkl)")
    return ref, found


def _record(reg: Registry, ref: str, path: str) -> dict[str, Any] | None:
    where = record_path(path)
    try:
        with open_read(reg, ref, where) as fh:
            doc = json.loads(fh.read(1 << 20).decode("utf-8"))
    except BadInput:
        return None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelIntegrityError(
            f"{where} on {ref} is not valid JSON: cannot check "
            f"{path}; pass trust=True to load it anyway"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sha256"), str):
        raise ModelIntegrityError(f"{where} on {ref} has no sha256: cannot check {path}")
    if doc.get("path", path) != path:
        raise ModelIntegrityError(f"{where} on {ref} describes {doc['path']}, not {path}")
    return doc


read_record = _record  # the lineage record of a model on a ref (None when there is none)


def _verified(
    reg: Registry, ref: str, path: str, trust: bool, src: IO[bytes], sink: IO[bytes] | None
) -> dict[str, Any]:
    """Read a model's bytes from ``src`` (copying them into ``sink``), hashing them; refuse
    when they do not match the lineage record's sha256, or there is no record to check."""
    record = _record(reg, ref, path)
    if record is None and not trust:
        raise ModelIntegrityError(
            f"{path} on {ref} has no lineage record ({record_path(path)}): refusing to load "
            "bytes that cannot be checked; pass trust=True to load it anyway"
        )
    digest = hashlib.sha256()
    try:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            if sink is not None:
                sink.write(chunk)
    except LfsCorrupt as exc:
        if record is None:
            raise
        raise ModelIntegrityError(
            f"{path} on {ref} does not match its lineage record: {exc}; not loaded"
        ) from None
    if record is not None and not trust and digest.hexdigest() != record["sha256"]:
        raise ModelIntegrityError(
            f"{path} on {ref} does not match its lineage record: its sha256 is "
            f"{digest.hexdigest()[:12]}, the record says {record['sha256'][:12]}; not loaded"
        )
    return record or {}


def load_model(
    reg: Registry,
    path: str | None = None,
    *,
    ref: str | None = None,
    format: str | None = None,
    trust: bool = False,
    **options: Any,
) -> object:
    """Deserialise a model after checking its sha256 against its lineage record.

    The bytes deserialised are the bytes checked: an LFS file is hashed and then loaded
    through the same open file; a blob is copied, while hashed, into memory (small) or a
    temporary file (big). ``options`` go to the format's loader (``trusted=`` for skops).
    """
    ref, path = resolve_model_ref(reg, ref, path)
    info = stat(reg, ref, path)
    if info.type == "directory":
        return _load_folder(reg, ref, path, format, trust)

    def load(fh: IO[bytes], record: dict[str, Any]) -> object:
        fh.seek(0)
        return _load(fh, format or record.get("format") or infer_format(path), options)

    with open_read(reg, ref, path) as src:
        if info.storage is Storage.LFS:
            return load(src, _verified(reg, ref, path, trust, src, None))
        if (info.size or 0) <= _IN_MEMORY:
            buffer = io.BytesIO()
            return load(buffer, _verified(reg, ref, path, trust, src, buffer))
        with tempfile.TemporaryFile(dir=temp_dir(reg)) as spool:
            return load(spool, _verified(reg, ref, path, trust, src, spool))


def _load_folder(reg: Registry, ref: str, path: str, fmt: str | None, trust: bool) -> object:
    from mlvc_tui.engine.cachedir import cache_root
    from mlvc_tui.engine.folder_models import load_folder, load_pyfunc_or_folder

    record = _record(reg, ref, path)
    if record is None and not trust:
        raise ModelIntegrityError(
            f"{path} on {ref} has no lineage record ({record_path(path)}): refusing to load "
            "a folder that cannot be checked; pass trust=True to load it anyway"
        )
    found = load_folder(reg, ref, path, record, cache_root(), trust)
    return found if fmt == "folder" else load_pyfunc_or_folder(found)


def fetch_model(
    reg: Registry,
    dest: str | os.PathLike[str],
    path: str | None = None,
    *,
    ref: str | None = None,
    trust: bool = False,
) -> Path:
    """Copy a model to a local file, in chunks, only when it matches its lineage record."""
    ref, path = resolve_model_ref(reg, ref, path)
    target = Path(dest)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out, open_read(reg, ref, path) as src:
            _verified(reg, ref, path, trust, src, out)
        os.chmod(temp, file_mode())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target
