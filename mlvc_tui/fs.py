"""An fsspec filesystem for registries, protocol ``mlvc``: any file on any ref, no checkout.

URL form (the same ``REF:PATH`` as ``mlvc cp``; git forbids ``:`` in ref names)::

    mlvc://<repository path>@<ref>:<path in the repository>
    mlvc:///srv/churn@prod:monitoring/drift.csv          absolute repository path
    mlvc://churn@exp/lr-sweep:metrics/model.json         relative to the current folder
    mlvc://churn@model@v1.2.0:models/model.pkl           a version tag
    mlvc://models:/model@prod   (storage_options={"repo": path or registry URL})

The repository path ends at the first ``@``. With ``storage_options={"repo": ...}`` a URL
may be ``mlvc://<ref>:<path>``, and with ``"ref"`` as well just ``mlvc://<path>``. So
``pandas.read_csv("mlvc:///srv/churn@ab/test-b:monitoring/predictions.csv")`` works, and
writing (``"wb"``) to a branch makes one commit when the file closes.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from fsspec import AbstractFileSystem

from mlvc_tui.engine import (
    BadInput,
    BranchFile,
    FileTransaction,
    RefNotFound,
    Registry,
    active_transaction,
    files,
)

__all__ = ["MlvcFileSystem"]

_T = TypeVar("_T")


def _close_all(registries: dict[str, Registry]) -> None:
    for reg in registries.values():
        reg.close()
    registries.clear()


class MlvcFileSystem(AbstractFileSystem):
    """Files of local registries by ``<repo>@<ref>:<path>`` (see the module's docstring)."""

    protocol = "mlvc"
    root_marker = ""

    def __init__(
        self, repo: str | os.PathLike[str] | None = None, ref: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.repo = os.fspath(repo) if repo is not None else None
        self.ref = ref
        self._registries: dict[str, Registry] = {}
        weakref.finalize(self, _close_all, self._registries)

    def _split(self, path: str) -> tuple[str, str, str, str]:
        """(repository, ref, path inside, prefix that names the repository and ref)."""
        text = self._strip_protocol(path)
        repo, ref = self.repo, self.ref
        prefix = ""
        if "@" in text and ":" in text.split("@", 1)[1]:
            repo, rest = text.split("@", 1)
            ref, text = rest.split(":", 1)
            prefix = f"{repo}@{ref}:"
        elif ":" in text and repo is not None:
            ref, text = text.split(":", 1)
            prefix = f"{ref}:"
        if repo is None or ref is None:
            raise ValueError(f"{path!r}: expected mlvc://<repository>@<ref>:<path>")
        return repo, ref, text.strip("/"), prefix

    def _registry(self, repo: str) -> Registry:
        key = str(Path(repo).resolve())
        reg = self._registries.get(key)
        if reg is None:
            reg = self._registries[key] = Registry.open(key)
        else:
            reg.refresh()
        return reg

    def _call(self, path: str, verb: Callable[[Registry, str, str, str], _T]) -> _T:
        repo, ref, inner, prefix = self._split(path)
        reg = self._registry(repo)
        try:
            return verb(reg, ref, inner, prefix)
        except RefNotFound as exc:
            raise FileNotFoundError(str(exc)) from None
        except BadInput as exc:
            if str(exc).startswith("no file "):
                raise FileNotFoundError(str(exc)) from None
            raise

    @staticmethod
    def _detail(info: files.FileStat, prefix: str) -> dict[str, Any]:
        return {
            "name": prefix + info.path,
            "size": info.size or 0,
            "type": "directory" if info.type == "directory" else "file",
            "id": info.id,
            "blob_id": info.blob_id,
            "storage": info.storage.value if info.storage else None,
        }

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._call(
            path, lambda reg, ref, inner, prefix: self._detail(files.stat(reg, ref, inner), prefix)
        )

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        entries = self._call(
            path,
            lambda reg, ref, inner, prefix: [
                self._detail(e, prefix) for e in files.listdir(reg, ref, inner)
            ],
        )
        return entries if detail else [e["name"] for e in entries]

    def _open_model(self, uri: str) -> BinaryIO:
        """``models:/<name>@<env>`` or ``models:/<name>/<version>`` on ``repo`` (a path, or a
        registry URL: then fetched into the cache and verified first)."""
        from mlvc_tui.engine import local_target, resolve_model

        if self.repo is None:
            raise ValueError(f"{uri!r}: pass storage_options={{'repo': <path or URL>}}")
        if "://" in self.repo:
            return open(resolve_model(uri, self.repo).local_path, "rb")
        reg = self._registry(self.repo)
        ref, inner = local_target(reg, uri)
        return files.open_read(reg, ref, inner)

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        with self._open(path, "rb") as fh:
            return fh.read()[start:end]

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: Any = None,
        autocommit: bool = True,
        cache_options: Any = None,
        **kwargs: Any,
    ) -> BinaryIO:
        if mode == "rb" and self._strip_protocol(path).startswith("models:/"):
            return self._open_model(self._strip_protocol(path))
        if mode == "rb":
            return self._call(path, lambda reg, ref, inner, _: files.open_read(reg, ref, inner))
        if mode != "wb":
            raise ValueError(f"mode {mode!r}: the mlvc filesystem opens files 'rb' or 'wb'")

        def write(reg: Registry, branch: str, inner: str, _: str) -> BranchFile:
            tx = active_transaction(reg, branch)
            if tx is not None:
                return BranchFile(tx, inner, commit=False)
            tx = FileTransaction(reg, branch, kwargs.get("message") or f"Write {inner}")
            if tx.parent is None:
                raise FileNotFoundError(f"no branch {branch}: create it first")
            return BranchFile(tx, inner, commit=True)

        return self._call(path, write)
