"""The read-only FUSE file system over a :class:`TreeView` (libfuse through mfusepy).

Each open file holds its own source (blob stream or LFS object), so it keeps reading the
version it opened when a followed branch moves; the next open sees the new view. Without
``follow`` the tree never changes, so the kernel keeps pages cached across opens; with it,
files are read with direct I/O (the kernel's page cache is per path, and two versions of
one path may be open at once). ``/.mlvc/commit`` names the commit shown.
"""

from __future__ import annotations

import errno
import itertools
import os
import stat as st
import sys
import threading
from collections.abc import Callable
from typing import Any

import mfusepy

from mlvc_tui.engine.errors import MlvcError
from mlvc_tui.engine.git.seekable import FileSource, open_source
from mlvc_tui.engine.mount.limits import READ_SIZE
from mlvc_tui.engine.mount.view import Node, TreeView

__all__ = ["MountedTree"]

META = ".mlvc"

COMMIT_FILE = f"/{META}/commit"
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _err(code: int) -> mfusepy.FuseOSError:
    return mfusepy.FuseOSError(code)


class MountedTree(mfusepy.Operations):
    """FUSE operations serving ``view``; :meth:`switch` replaces it atomically."""

    use_ns = True

    def __init__(
        self, view: TreeView, follow: bool = False, on_ready: Callable[[], None] | None = None
    ) -> None:
        self.view = view
        self.follow = follow
        self.on_ready = on_ready
        self._handles: dict[int, FileSource | bytes] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.uid, self.gid = os.getuid(), os.getgid()

    # -- state -------------------------------------------------------------------------------

    def switch(self, view: TreeView) -> None:
        """Show ``view`` from the next lookup on (open files keep what they opened)."""
        self.view = view

    def init_with_config(self, conn: Any, config: Any) -> None:
        """Called by libfuse once mounted: ask for large reads and readahead (the kernel
        grants what it can), then say the mount is ready."""
        if conn is not None:
            if config is not None and hasattr(conn, "max_read"):  # libfuse 3
                conn.max_read = READ_SIZE
            conn.max_readahead = READ_SIZE
        if self.on_ready is not None:
            self.on_ready()

    def _commit_text(self, view: TreeView) -> bytes:
        return f"{view.commit}\n".encode("ascii")

    def _times(self, view: TreeView) -> int:
        # The commit's time; the nanoseconds tell commits of one second apart, so that a
        # tool comparing mtimes (and the kernel's cache) sees a followed file change.
        return view.time * 10**9 + int(view.commit[:8], 16) % 10**9

    def _attrs(self, view: TreeView, mode: int, size: int, nlink: int = 1) -> dict[str, Any]:
        when = self._times(view)
        return {
            "st_mode": mode,
            "st_nlink": nlink,
            "st_size": size,
            "st_blocks": (size + 511) // 512,
            "st_uid": self.uid,
            "st_gid": self.gid,
            "st_atime": when,
            "st_mtime": when,
            "st_ctime": when,
        }

    def _node(self, view: TreeView, path: str) -> Node:
        try:
            node = view.lookup(path)
        except MlvcError as exc:
            print(f"mlvc mount: {path}: {exc}", file=sys.stderr)
            raise _err(errno.EIO) from None
        if node is None:
            raise _err(errno.ENOENT)
        return node

    # -- reading the tree ------------------------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        view = self.view
        if path == f"/{META}":
            return self._attrs(view, st.S_IFDIR | 0o555, 0, 2)
        if path == COMMIT_FILE:
            return self._attrs(view, st.S_IFREG | 0o444, len(self._commit_text(view)))
        node = self._node(view, path)
        if node.kind in ("dir", "submodule"):
            return self._attrs(view, st.S_IFDIR | 0o555, 0, 2)
        if node.kind == "link":
            return self._attrs(view, st.S_IFLNK | 0o777, view.size(node))
        mode = 0o555 if node.mode & 0o111 else 0o444
        return self._attrs(view, st.S_IFREG | mode, view.size(node))

    def readdir(self, path: str, fh: int) -> list[str]:
        view = self.view
        if path == f"/{META}":
            return [".", "..", "commit"]
        node = self._node(view, path)
        if node.kind == "submodule":
            return [".", ".."]
        if node.kind != "dir":
            raise _err(errno.ENOTDIR)
        names = [name for name, _ in view.children(node)]
        if path == "/":
            names = [n for n in names if n != META] + [META]
        return [".", "..", *names]

    def readlink(self, path: str) -> str:
        view = self.view
        node = self._node(view, path)
        if node.kind != "link":
            raise _err(errno.EINVAL)
        return view.link_target(node).decode("utf-8", "surrogateescape")

    def statfs(self, path: str) -> dict[str, int]:
        return {"f_bsize": 1 << 20, "f_frsize": 1 << 20, "f_namemax": 255}

    # -- reading files -------------------------------------------------------------------------

    def open(self, path: str, fi: Any) -> int:
        if fi.flags & _WRITE:
            raise _err(errno.EROFS)
        view = self.view
        source: FileSource | bytes
        if path == COMMIT_FILE:
            source = self._commit_text(view)
            fi.direct_io = 1
        else:
            node = self._node(view, path)
            if node.kind in ("dir", "submodule"):
                raise _err(errno.EISDIR)
            try:
                source = open_source(
                    view.reg, view.lock, view.root_tree, node.path, node.id, view.ref
                )
            except MlvcError as exc:
                print(f"mlvc mount: {exc}", file=sys.stderr)
                raise _err(errno.EIO) from None
            if self.follow:
                fi.direct_io = 1
            else:
                fi.keep_cache = 1
        handle = next(self._ids)
        with self._lock:
            self._handles[handle] = source
        fi.fh = handle
        return 0

    def read(self, path: str, size: int, offset: int, fi: Any) -> bytes:
        source = self._handles.get(fi.fh)
        if source is None:
            raise _err(errno.EBADF)
        if isinstance(source, bytes):
            return source[offset : offset + size]
        try:
            return source.read(offset, size)
        except MlvcError as exc:
            print(f"mlvc mount: {path}: {exc}", file=sys.stderr)
            raise _err(errno.EIO) from None

    def release(self, path: str, fi: Any) -> int:
        with self._lock:
            source = self._handles.pop(fi.fh, None)
        if isinstance(source, FileSource):
            source.close()
        return 0

    def destroy(self, path: str) -> None:
        """Called by libfuse on unmount: close every source still open."""
        with self._lock:
            sources, self._handles = list(self._handles.values()), {}
        for source in sources:
            if isinstance(source, FileSource):
                source.close()

    # Writing is refused by the kernel ("ro"); these say so if a call gets through.
    def access(self, path: str, amode: int) -> int:
        if amode & os.W_OK:
            raise _err(errno.EROFS)
        return 0
