"""Folder models (MLflow model folders and any other): one artifact whose id is the sha256 of
a manifest of its files' sha256, saved as one commit and loaded only once every file matches.

An MLflow folder holds ``MLmodel`` (YAML: flavors, signature), ``requirements.txt``,
``python_env.yaml``, ``conda.yaml`` and the model files. `save_folder_model` stores a folder
MLflow (or anything) wrote, or writes one itself for an object with ``predict`` (the
``sklearn`` and ``python_function`` flavors, pickled: real MLflow loads it). Files of 1 MB
or more go to Git LFS (a ``.gitattributes`` line each, unless a pattern already sends them).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import platform
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlvc_tui.engine.errors import BadInput, ModelIntegrityError
from mlvc_tui.engine.git.files import listdir, open_read, stat
from mlvc_tui.engine.git.staging import FileTransaction
from mlvc_tui.engine.provenance import environment, now_iso

__all__ = [
    "LFS_THRESHOLD",
    "FolderModel",
    "folder_files",
    "load_folder",
    "manifest_sha256",
    "parse_mlmodel",
    "write_mlflow_folder",
]

LFS_THRESHOLD = 1 << 20
_LFS_LINE = "{} filter=lfs diff=lfs merge=lfs -text\n"


@dataclass(frozen=True, slots=True)
class FolderModel:
    """A verified local copy of a folder model, and its parsed ``MLmodel`` (None when the
    folder is not an MLflow model). What `load_model` hands back when MLflow is absent."""

    path: Path
    mlmodel: dict[str, Any] | None
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256

    @property
    def signature(self) -> dict[str, Any] | None:
        return (self.mlmodel or {}).get("signature")

    @property
    def flavors(self) -> tuple[str, ...]:
        return tuple((self.mlmodel or {}).get("flavors") or ())


def manifest_sha256(files: Mapping[str, str]) -> str:
    """The folder's id: sha256 of ``"<sha256>  <path>\\n"`` lines sorted by path."""
    text = "".join(f"{files[p]}  {p}\n" for p in sorted(files))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def folder_files(folder: Path) -> dict[str, tuple[Path, str, int]]:
    """Relative path -> (file, sha256, size) for every file under ``folder``."""
    out = {}
    for item in sorted(folder.rglob("*")):
        if item.is_symlink() or not item.is_file():
            continue
        rel = item.relative_to(folder).as_posix()
        out[rel] = (item, _sha256_file(item), item.stat().st_size)
    if not out:
        raise BadInput(f"{folder} holds no files: not a model folder")
    return out


def parse_mlmodel(data: bytes) -> dict[str, Any] | None:
    """``MLmodel`` as a dict (signature's JSON strings parsed too); None when unreadable."""
    import json

    import yaml

    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(doc, dict):
        return None
    signature = doc.get("signature")
    if isinstance(signature, dict):
        parsed = {}
        for key, value in signature.items():
            try:
                parsed[key] = json.loads(value) if isinstance(value, str) else value
            except ValueError:
                parsed[key] = value
        doc["signature"] = parsed
    return doc


def _signature(example: Any) -> dict[str, str | None] | None:
    """A column-based MLflow signature for a pandas DataFrame or a 2-D numpy array."""
    import json

    if example is None:
        return None
    if hasattr(example, "dtypes") and hasattr(example, "columns"):
        kinds = {"i": "long", "f": "double", "b": "boolean", "O": "string", "U": "string"}
        cols = [
            {"type": kinds.get(dt.kind, "string"), "name": str(c), "required": True}
            for c, dt in zip(example.columns, example.dtypes, strict=True)
        ]
        return {"inputs": json.dumps(cols), "outputs": None, "params": None}
    shape = getattr(example, "shape", None)
    if shape is not None:
        spec = [
            {
                "type": "tensor",
                "tensor-spec": {"dtype": str(example.dtype), "shape": [-1, *shape[1:]]},
            }
        ]
        return {"inputs": json.dumps(spec), "outputs": None, "params": None}
    return None


def write_mlflow_folder(model: object, folder: Path, input_example: Any = None) -> None:
    """Write an MLflow model folder for ``model`` (pickled, ``sklearn`` + ``python_function``
    flavors, as ``mlflow.sklearn.save_model`` lays it out) into the empty ``folder``."""
    import yaml

    if not hasattr(model, "predict"):
        raise BadInput(
            f"format='mlflow' needs a model with predict(), not {type(model).__name__}; "
            "or pass the path of a folder MLflow saved"
        )
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "model.pkl").open("wb") as fh:
        pickle.dump(model, fh, protocol=pickle.DEFAULT_PROTOCOL)
    packages = environment(model).get("packages") or {}
    pins = [f"{name}=={version}" for name, version in sorted(packages.items()) if version]
    python = platform.python_version()
    sklearn = packages.get("scikit-learn") or packages.get("sklearn")
    mlmodel: dict[str, Any] = {
        "flavors": {
            "python_function": {
                "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                "loader_module": "mlflow.sklearn",
                "model_path": "model.pkl",
                "predict_fn": "predict",
                "python_version": python,
            },
            "sklearn": {
                "code": None,
                "pickled_model": "model.pkl",
                "serialization_format": "pickle",
                "sklearn_version": sklearn,
            },
        },
        "mlflow_version": packages.get("mlflow"),
        "model_size_bytes": (folder / "model.pkl").stat().st_size,
        "model_uuid": uuid.uuid4().hex,
        "utc_time_created": now_iso().replace("T", " ").rstrip("Z"),
    }
    signature = _signature(input_example)
    if signature:
        mlmodel["signature"] = signature
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=True))
    (folder / "requirements.txt").write_text("".join(f"{p}\n" for p in pins))
    (folder / "python_env.yaml").write_text(
        yaml.safe_dump(
            {
                "python": python,
                "build_dependencies": ["pip"],
                "dependencies": ["-r requirements.txt"],
            }
        )
    )
    (folder / "conda.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "mlflow-env",
                "channels": ["conda-forge"],
                "dependencies": [f"python={python}", "pip", {"pip": pins}],
            }
        )
    )


def stage_folder(
    tx: FileTransaction, folder: Path, path: str, existing: Iterable[str]
) -> tuple[dict[str, str], int]:
    """Stage ``folder`` at ``path`` (replacing what was there); (files' sha256, total size).
    Big files not already sent to LFS by a pattern get a `.gitattributes` line each."""
    found = folder_files(folder)
    lines = [
        _LFS_LINE.format(f"{path}/{rel}".replace(" ", "[[:space:]]"))
        for rel, (_, _, size) in found.items()
        if size >= LFS_THRESHOLD and not tx.lfs_match(f"{path}/{rel}")
    ]
    if lines:
        try:
            with open_read(tx.reg, tx.parent, ".gitattributes") if tx.parent else _empty() as fh:
                current = fh.read()
        except BadInput:
            current = b""
        text = current.decode("utf-8")
        if text and not text.endswith("\n"):
            text += "\n"
        tx.put(".gitattributes", (text + "".join(lines)).encode("utf-8"))
    for old in existing:
        if old.removeprefix(f"{path}/") not in found:
            tx.delete(old)
    for rel, (local, _, _) in found.items():
        tx.put_file(f"{path}/{rel}", local)
    files = {rel: sha for rel, (_, sha, _) in found.items()}
    return files, sum(size for _, _, size in found.values())


def _empty() -> Any:
    import io

    return io.BytesIO(b"")


def tree_files(reg: Any, ref: str, path: str) -> list[str]:
    """Every file below ``path`` on ``ref`` (repository paths)."""
    out: list[str] = []
    stack = [path]
    while stack:
        for entry in listdir(reg, ref, stack.pop()):
            if entry.type == "directory":
                stack.append(entry.path)
            elif entry.type == "file":
                out.append(entry.path)
    return out


def load_folder(
    reg: Any, ref: str, path: str, record: Mapping[str, Any] | None, cache: Path, trust: bool
) -> FolderModel:
    """Copy a folder model out of ``ref`` into ``cache/<manifest>/<name>`` (once), checking
    every file's sha256 and the manifest against the lineage record first."""
    expected = dict((record or {}).get("files") or {})
    names = {p.removeprefix(f"{path}/"): p for p in tree_files(reg, ref, path)}
    if record is not None and not trust and set(names) != set(expected):
        raise ModelIntegrityError(
            f"{path} on {ref} does not hold the files its lineage record lists; not loaded"
        )
    folder_id = (record or {}).get("sha256") or "untrusted"
    tree_id = stat(reg, ref, path).id  # the same record over another tree is checked anew
    target = cache / "folders" / f"{folder_id}-{tree_id[:16]}" / Path(path).name
    if target.is_dir() and record is not None and not trust:
        return FolderModel(target, _mlmodel_of(target), expected)
    cache.joinpath("folders").mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache / "folders", prefix=".partial-"))
    try:
        seen: dict[str, str] = {}
        for rel, repo_path in sorted(names.items()):
            out_path = staging / rel
            out_path.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with open_read(reg, ref, repo_path) as src, out_path.open("wb") as out:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            seen[rel] = digest.hexdigest()
            if not trust and expected.get(rel) not in (None, seen[rel]):
                raise ModelIntegrityError(
                    f"{repo_path} on {ref} does not match its lineage record; not loaded"
                )
        if not trust and record is not None and manifest_sha256(seen) != record.get("sha256"):
            raise ModelIntegrityError(f"{path} on {ref}: its manifest does not match; not loaded")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return FolderModel(target, _mlmodel_of(target), seen)


def _mlmodel_of(folder: Path) -> dict[str, Any] | None:
    source = folder / "MLmodel"
    return parse_mlmodel(source.read_bytes()) if source.is_file() else None


def load_pyfunc_or_folder(found: FolderModel) -> object:
    """``mlflow.pyfunc.load_model`` on the verified folder when MLflow is installed and the
    folder is an MLflow model; else the `FolderModel` itself."""
    if found.mlmodel is None:
        return found
    try:
        import mlflow.pyfunc
    except ImportError:
        return found
    return mlflow.pyfunc.load_model(str(found.path))
