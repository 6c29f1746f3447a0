"""Mounting a ref read-only with FUSE (`mlvc mount`): the tree view, the file system over it,
following a branch, and the checks and clean-up around a mount.

Object reads go through :mod:`mlvc_tui.engine.git` (seekable blob and LFS sources); the
FUSE binding (mfusepy) is imported only when a mount is served.
"""

from __future__ import annotations

from mlvc_tui.engine.mount.run import (
    Mounted,
    fuse_problem,
    is_stale,
    mounted,
    preflight,
    serve,
    spawn,
    unmount,
)
from mlvc_tui.engine.mount.view import MountRef, resolve_mount_ref, safe_name

__all__ = [
    "MountRef",
    "Mounted",
    "fuse_problem",
    "is_stale",
    "mounted",
    "preflight",
    "resolve_mount_ref",
    "safe_name",
    "serve",
    "spawn",
    "unmount",
]
