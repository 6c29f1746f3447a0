"""Files that steer the registry, checked before a write puts them on a branch.

`mlvc.toml` (settings, gates, version rules), `delivery.toml` (live traffic: every variant
a branch that exists) and lineage records (`*.lineage.json`: a JSON object with the model's
sha256). A broken one committed to prod would lock every command out, so every write
(transactions, `mlvc cp`, the API, promotion and rollback) checks the ones it changes
first and refuses with the reason, committing nothing. Reading a broken one stays possible.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from mlvc_tui.engine.errors import BadInput, MlvcError

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["CHECKED", "check_changes", "is_checked", "problem"]

CHECKED = ("mlvc.toml", "delivery.toml", "*.lineage.json")
MAX_BYTES = 1 << 20  # a settings file or a record larger than this is not one
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_checked(path: str) -> bool:
    """Whether a write of ``path`` is validated first."""
    return path in ("mlvc.toml", "delivery.toml") or path.endswith(".lineage.json")


def _settings(data: bytes, branch: str) -> None:
    from mlvc_tui.engine.config import parse_config
    from mlvc_tui.engine.promotion.gates import GateSettings
    from mlvc_tui.engine.promotion.versions import VersionRules

    config = parse_config(data)
    gates = config.raw.get("gates", {})
    if not isinstance(gates, dict):
        raise BadInput("mlvc.toml: [gates] must be a table")
    GateSettings.from_table(gates, branch)
    for name, table in gates.items():
        if isinstance(table, dict):
            GateSettings.from_table(gates, name)
    VersionRules.from_config(config.raw)


def _delivery(data: bytes, exists: Callable[[str], bool]) -> None:
    from mlvc_tui.engine.delivery.spec import DELIVERY_PATH, dump, parse

    d = parse(data)
    gone = [v.branch for v in d.variants if not exists(v.branch)]
    if gone:
        raise BadInput(f"{DELIVERY_PATH}: variant {gone[0]!r} is not a branch of this registry")
    parse(dump(d))  # what mlvc writes back from it must read again


def _lineage(path: str, data: bytes) -> None:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise BadInput(f"{path} must be a JSON object")
    digest = doc.get("sha256")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise BadInput(f"{path}: sha256 must be the model's 64 lowercase hex digits")
    size = doc.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise BadInput(f"{path}: size must be a whole number of bytes")
    model = doc.get("path")
    if model is not None:
        from mlvc_tui.engine.lineage import record_path

        if not isinstance(model, str) or record_path(model) != path:
            raise BadInput(f"{path}: path {model!r} is not the model this record sits beside")


def problem(path: str, data: bytes, branch: str, exists: Callable[[str], bool]) -> str | None:
    """Why ``data`` cannot be committed at ``path`` on ``branch``; None when it can."""
    if not is_checked(path):
        return None
    if len(data) > MAX_BYTES:
        return f"{path} is {len(data):,} bytes: too big to be one"
    try:
        if path == "mlvc.toml":
            _settings(data, branch)
        elif path == "delivery.toml":
            _delivery(data, exists)
        else:
            _lineage(path, data)
    except MlvcError as exc:
        text = str(exc)
        return text if text.startswith(path) else f"{path}: {text}"
    return None


def check_changes(reg: Registry, branch: str, changes: Mapping[str, str | None]) -> None:
    """BadInput when a changed file (path -> new blob id; None: deleted) would be broken."""
    for path, blob_id in sorted(changes.items()):
        if blob_id is None or not is_checked(path):
            continue
        why = problem(
            path, reg.objects.blob(blob_id), branch, lambda b: reg.branch_tip(b) is not None
        )
        if why is not None:
            raise BadInput(f"{why}; refused, nothing was committed to {branch}")
