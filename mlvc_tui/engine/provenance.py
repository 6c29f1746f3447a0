"""What a lineage record says about where a model came from: data ids, the Python and
package versions that made it, the command, the user and the time."""

from __future__ import annotations

import getpass
import os
import platform
import shlex
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.worktree import git_blob_id

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["data_ids", "environment", "now_iso"]

# Import names whose versions matter to a model, when the training process has them loaded.
_ML_MODULES = (
    "numpy",
    "pandas",
    "scipy",
    "sklearn",
    "joblib",
    "skops",
    "torch",
    "tensorflow",
    "keras",
    "xgboost",
    "lightgbm",
    "catboost",
    "statsmodels",
    "onnx",
    "onnxruntime",
    "transformers",
    "pyarrow",
    "polars",
)


def now_iso() -> str:
    """The current time, UTC, as ``2026-11-02T09:30:00Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def data_ids(reg: Registry, commit: str | None, data: Iterable[str]) -> dict[str, str]:
    """An id per data path: its id on ``commit`` (blob, LFS oid, folder tree, submodule
    commit), else a local file's git blob id; BadInput when it is neither."""
    from mlvc_tui.engine.git.files import stat

    out: dict[str, str] = {}
    for item in data:
        name = os.fspath(item)
        if commit is not None:
            try:
                out[name] = stat(reg, commit, name).id
                continue
            except BadInput:
                pass
        local = Path(name)
        if not local.is_file():
            raise BadInput(f"data {name!r} is neither a path on the branch nor a local file")
        out[name] = git_blob_id(local)[0]
    return out


def _versions(model: object) -> dict[str, str]:
    from importlib import metadata

    names = [m for m in _ML_MODULES if m in sys.modules]
    top = type(model).__module__.split(".", 1)[0]
    if top not in ("builtins", "__main__", *names):
        names.append(top)
    try:
        dists = metadata.packages_distributions()
    except Exception:  # a broken installation: record what can be known
        dists = {}
    out: dict[str, str] = {}
    for name in names:
        for dist in dists.get(name, [name]):
            try:
                out[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    return dict(sorted(out.items()))


def environment(model: object, command: str | None = None) -> dict[str, Any]:
    """python, packages, command and user of the process saving ``model``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = os.environ.get("USER", "unknown")
    argv = (
        [Path(sys.executable).name, *sys.argv]
        if sys.argv and sys.argv[0].endswith(".py")
        else sys.argv
    )
    return {
        "python": platform.python_version(),
        "packages": _versions(model),
        "command": command if command is not None else shlex.join(argv),
        "user": user,
    }
