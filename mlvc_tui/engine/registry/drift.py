"""A registry's drift log: read at a ref, or followed in the working tree as it grows,
always with the thresholds of ``[drift.thresholds]`` (the one reader for every face)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.live.drift import DRIFT_PATH, DriftReport, NoDriftLog, parse_drift
from mlvc_tui.engine.live.tail import CHUNK, DriftFollow, drift_thresholds
from mlvc_tui.engine.registry.names import WORKTREE
from mlvc_tui.engine.values import Storage

if TYPE_CHECKING:
    from mlvc_tui.engine.registry.core import Registry

__all__ = ["follow_drift", "read_drift"]


def read_drift(reg: Registry, ref: str, path: str | None) -> DriftReport:
    """``ref``'s drift log (or the working tree's); NoDriftLog says why there is none."""
    path = path or DRIFT_PATH
    if ref != WORKTREE:
        art = reg.artifacts(ref).get(path)
        if art is None:
            raise NoDriftLog(f"{ref} has no {path}: nothing monitors this branch yet", "missing")
        if art.storage is Storage.LFS:
            raise NoDriftLog(f"{path} on {ref} is a Git LFS object: fetch it to read it", "storage")
        if art.storage is not Storage.BLOB:
            raise NoDriftLog(
                f"{path} on {ref} is kept in {art.storage.value}, not in git", "storage"
            )
    thresholds = drift_thresholds(reg.config)
    try:
        return parse_drift(reg.read(ref, path), thresholds)
    except NoDriftLog:
        raise
    except BadInput as exc:
        raise NoDriftLog(f"{path} on {ref} cannot be read: {exc}", "unreadable") from None


def follow_drift(reg: Registry, path: str | None, chunk: int | None) -> DriftFollow:
    """The working tree's drift log, followed from its start."""
    root = reg.working_root()
    return DriftFollow(
        root / (path or DRIFT_PATH), drift_thresholds(reg.config), chunk=chunk or CHUNK
    )
