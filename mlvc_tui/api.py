"""The Python API: ``import mlvc_tui as mlvc``.

    reg = mlvc.open("path/to/registry")
    with reg.open("prod", "monitoring/drift.csv", "rb") as f: ...
    with reg.open("exp/x", "models/model.pkl", "wb") as f:     # one commit when it closes
        pickle.dump(model, f)
    with reg.transaction("exp/x", "Train v2"):                 # one commit for several files
        ...
    mlvc.save_model(model, "models/model.pkl", repo=".", branch="exp/x", metrics={...})
    model = mlvc.load_model("models/model.pkl", repo=".", ref="model@v1.2.0")

Nothing is checked out: files are read from and written to the object store, and a branch
moves by compare-and-swap. See docs/api.md.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

import mlvc_tui.engine as engine
from mlvc_tui.engine import (
    BadInput,
    BranchFile,
    FileStat,
    FileTransaction,
    ModelIntegrityError,
    ModelWatcher,
    Registry,
    ResolvedModel,
    SavedModel,
    active_transaction,
    files,
)

__all__ = [
    "FileStat",
    "ModelIntegrityError",
    "ModelRegistry",
    "ModelWatcher",
    "ResolvedModel",
    "SavedModel",
    "fetch_model",
    "load_model",
    "mounted",
    "open",
    "resolve",
    "save_model",
]

_T = TypeVar("_T")


class _TextFile(io.TextIOWrapper):
    """Text over a `BranchFile`: an exception in the ``with`` block discards the write."""

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if t is None:
            self.close()
        elif isinstance(self.buffer, BranchFile):  # always: see ModelRegistry.open
            self.buffer.discard()


class ModelRegistry:
    """A registry opened for the API: the engine's `Registry` (every read verb) plus files,
    transactions and models. Close it, or use it as a context manager."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def __getattr__(self, name: str) -> Any:
        return getattr(self.registry, name)

    def close(self) -> None:
        self.registry.close()

    def __enter__(self) -> ModelRegistry:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(
        self,
        ref: str,
        path: str,
        mode: str = "rb",
        *,
        message: str | None = None,
        start: str | None = None,
        encoding: str = "utf-8",
    ) -> IO[Any]:
        """A file on any ref (``"rb"``, ``"r"``), or a file to write to a branch (``"wb"``,
        ``"w"``): one commit when it closes, or staged in the branch's open transaction."""
        if mode in ("rb", "r"):
            self.registry.refresh()
            raw = files.open_read(self.registry, ref, path)
            return raw if mode == "rb" else io.TextIOWrapper(raw, encoding=encoding)
        if mode not in ("wb", "w"):
            raise BadInput(f"mode {mode!r}: use 'rb', 'r', 'wb' or 'w'")
        tx = active_transaction(self.registry, ref)
        alone = tx is None
        if tx is None:
            start, text = engine.branch_start(self.registry, ref, start, message or f"Write {path}")
            tx = FileTransaction(self.registry, ref, text, start)
        out = BranchFile(tx, path, commit=alone)
        return out if mode == "wb" else _TextFile(out, encoding=encoding, write_through=True)

    def transaction(self, branch: str, message: str, start: str | None = None) -> FileTransaction:
        """Several writes to ``branch`` as one commit: ``with reg.transaction(b, msg) as tx``.
        Inside the block, ``reg.open(branch, path, "wb")`` stages into it too."""
        self.registry.refresh()
        start, text = engine.branch_start(self.registry, branch, start, message)
        return FileTransaction(self.registry, branch, text, start)

    def stat(self, ref: str, path: str) -> FileStat:
        """What a path is on a ref: type, real size, id and storage."""
        return files.stat(self.registry, ref, path)

    def ls(self, ref: str, path: str = "") -> list[FileStat]:
        """The entries of a folder on a ref."""
        return files.listdir(self.registry, ref, path)

    def save_model(
        self, model: object, path: str = "models/model.pkl", *, branch: str, **kwargs: Any
    ) -> SavedModel:
        """`mlvc.save_model` on this registry."""
        return engine.save_model(self.registry, model, path, branch=branch, **kwargs)

    def load_model(self, path: str | None = None, **kwargs: Any) -> object:
        """`mlvc.load_model` on this registry."""
        return engine.load_model(self.registry, path, **kwargs)

    def fetch_model(
        self, dest: str | os.PathLike[str], path: str | None = None, **kwargs: Any
    ) -> Path:
        """`mlvc.fetch_model` on this registry."""
        return engine.fetch_model(self.registry, dest, path, **kwargs)


def open(path: str | os.PathLike[str] = ".", prod: str | None = None) -> ModelRegistry:
    """Open the registry at ``path`` (or any folder above it)."""
    return ModelRegistry(Registry.open(path, prod=prod))


def _with_registry(repo: Any, use: Callable[[Registry], _T]) -> _T:
    if isinstance(repo, ModelRegistry):
        return use(repo.registry)
    if isinstance(repo, Registry):
        return use(repo)
    with Registry.open(repo) as reg:
        return use(reg)


def save_model(
    model: object,
    path: str = "models/model.pkl",
    *,
    repo: Any = ".",
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
    """Serialise ``model`` to ``path`` on ``branch`` with ``metrics/<name>.json`` and
    ``models/<name>.lineage.json`` (sha256, size, format, code commit, data ids, params,
    metrics, python and package versions, command, user, time), as one commit."""
    return _with_registry(
        repo,
        lambda reg: engine.save_model(
            reg,
            model,
            path,
            branch=branch,
            message=message,
            format=format,
            metrics=metrics,
            params=params,
            data=data,
            start=start,
            code_commit=code_commit,
            command=command,
            input_example=input_example,
        ),
    )


def load_model(
    path: str | None = None,
    *,
    repo: Any = ".",
    ref: str | None = None,
    format: str | None = None,
    trust: bool = False,
    registry: str | os.PathLike[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    **options: Any,
) -> object:
    """Load a model from any ref (default prod; ``model@v1.2.0`` or ``v1.2.0`` for a version)
    after checking its sha256 against its lineage record; ModelIntegrityError otherwise,
    unless ``trust=True``.

    ``path`` may be a URI, ``models:/<name>@<env>`` or ``models:/<name>/<version>``. With
    ``registry`` (a URL or a path) only that ref and the model's bytes are fetched, into
    ``cache`` (default ``$XDG_CACHE_HOME/mlvc``); no clone, no working tree, no write access.
    """
    if registry is not None:
        model, _ = engine.load_remote_model(
            path or ("" if ref else "models:/model@prod"),
            registry,
            ref=ref,
            cache=cache,
            format=format,
            trust=trust,
            **options,
        )
        return model

    def local(reg: Registry) -> object:
        where, ref_ = path, ref
        if path and path.startswith("models:"):
            ref_, where = engine.local_target(reg, path)
        return engine.load_model(reg, where, ref=ref_, format=format, trust=trust, **options)

    return _with_registry(repo, local)


def resolve(
    uri: str,
    *,
    registry: str | os.PathLike[str] = ".",
    ref: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    trust: bool = False,
) -> ResolvedModel:
    """What a model URI names on a registry (remote, ref, commit, version, LFS oid, sha256)
    and the local path of its verified bytes in the cache."""
    return engine.resolve_model(uri, registry, ref=ref, cache=cache, trust=trust)


def fetch_model(
    dest: str | os.PathLike[str],
    path: str | None = None,
    *,
    repo: Any = ".",
    ref: str | None = None,
    trust: bool = False,
) -> Path:
    """Copy a model to a local file in chunks, only when it matches its lineage record."""
    return _with_registry(
        repo, lambda reg: engine.fetch_model(reg, dest, path, ref=ref, trust=trust)
    )


def mounted(
    ref: str,
    repo: str | os.PathLike[str] = ".",
    *,
    path: str = "",
    follow: bool = False,
    mountpoint: str | os.PathLike[str] | None = None,
) -> Any:
    """``with mlvc.mounted("prod", repo=".") as folder:`` -- a ref (branch, tag, version,
    commit, ``models:/<name>@<env>``) as a read-only folder for code that needs a path.

    FUSE serves it from a background process, unmounted when the block ends; ``path``
    shows one folder of the tree, ``follow`` follows a branch as it moves. BadInput when
    FUSE is not usable here.
    """
    from mlvc_tui.engine import mounted as mount

    return mount(ref, repo, path=path, follow=follow, mountpoint=mountpoint)
