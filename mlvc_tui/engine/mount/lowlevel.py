"""The mount served on ``/dev/fuse`` directly, with FUSE passthrough for LFS objects.

libfuse 3.14 (Debian's) cannot hand the kernel a backing file; this server speaks the
kernel protocol itself (:mod:`proto`). An LFS object, once its sha256 is verified (by
:func:`lfs_verified.verify`: hashed whole, or a record that it was and has not changed
since), is opened with ``FOPEN_PASSTHROUGH``: the kernel reads the object file itself and
no read reaches Python. Everything else (blobs, ``.mlvc/commit``, an object not verified
because it hashes differently: EIO) is served here from the same :class:`TreeView` and
sources as the libfuse backend.

Node ids are a hash of (root tree, path): a path whose content changes when a followed
branch moves gets a new node, so the kernel's cache of the old one never shows through and
a file already open keeps reading the version it opened. Root only (``mount(2)`` and
backing files need CAP_SYS_ADMIN).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import stat as st
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from mlvc_tui.engine.errors import MlvcError
from mlvc_tui.engine.git.lfs import LfsPointer, LfsStore
from mlvc_tui.engine.git.lfs_verified import verify
from mlvc_tui.engine.git.seekable import Corrupt, FileSource, lfs_object, mark_bad, open_source
from mlvc_tui.engine.mount import proto
from mlvc_tui.engine.mount.proto import Op
from mlvc_tui.engine.mount.view import Node, TreeView

__all__ = ["KernelServer"]

META, COMMIT = 2, 3  # node ids of /.mlvc and /.mlvc/commit
BUFFER = proto.MAX_PAGES * proto.PAGE + 64 * 1024
WORKERS = 4


@dataclass(slots=True)
class _Inode:
    view: TreeView
    node: Node
    rel: str  # the path below the mount's root
    lookups: int = 0
    backing: int = -1  # the kernel's backing id while passthrough files are open
    opens: int = 0


@dataclass(slots=True)
class _Handle:
    nodeid: int
    source: FileSource | bytes | None = None  # None: served by the kernel (passthrough)
    extra: dict[str, int] = field(default_factory=dict)


class KernelServer:
    """A read-only FUSE file system over ``view``; :meth:`switch` replaces the view."""

    def __init__(
        self,
        view: TreeView,
        follow: bool = False,
        on_ready: Callable[[], None] | None = None,
        passthrough: bool = True,
    ) -> None:
        self.view, self.follow, self.on_ready = view, follow, on_ready
        self.want_passthrough = passthrough
        self.passthrough = False  # what the kernel granted at INIT
        self.dev = -1
        self.mountpoint = ""
        self._nodes: dict[int, _Inode] = {}
        self._handles: dict[int, _Handle] = {}
        self._next_fh = 1
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.uid, self.gid = os.getuid(), os.getgid()
        self._timeout = 0.0 if follow else 3600.0
        self._conn = ""
        self._verifying: dict[str, threading.Lock] = {}

    def switch(self, view: TreeView) -> None:
        """Show ``view`` from the next lookup on (open files keep what they opened)."""
        self.view = view

    # -- mounting and the request loop -----------------------------------------------------

    def mount(self, mountpoint: Path, name: str) -> None:
        """Open /dev/fuse and mount it at ``mountpoint`` (OSError when the kernel refuses)."""
        self.dev = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        try:
            proto.kernel_mount(self.dev, str(mountpoint), f"mlvc:{name}"[:200])
        except OSError:
            os.close(self.dev)
            self.dev = -1
            raise
        self.mountpoint = str(mountpoint)
        self._conn = proto.connection(self.mountpoint) or ""

    def serve(self) -> None:
        """Serve until unmounted (``umount``, or SIGINT/SIGTERM/SIGHUP here)."""
        workers = [
            threading.Thread(target=self._work, name=f"fuse-{n}", daemon=True)
            for n in range(WORKERS)
        ]
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, lambda *_: self._stop.set())
        for worker in workers:
            worker.start()
        while not self._stop.wait(0.2) and any(w.is_alive() for w in workers):
            pass
        # asked to stop: unmount (lazily when files are open), then end the connection so
        # that workers blocked on it wake up (a lazy unmount keeps it alive otherwise; without
        # fusectl mounted they stay blocked: daemon threads, gone with the process, and the
        # kernel ends the connection when the process closes the device)
        if self._stop.is_set():
            if proto.kernel_umount(self.mountpoint) != 0:
                proto.kernel_umount(self.mountpoint, lazy=True)
            self._abort()
        deadline = time.monotonic() + 1.0
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
        os.close(self.dev)
        self._close_all()

    def _abort(self) -> None:
        """End the connection, waking workers still blocked on it (a lazy unmount with
        files open keeps it alive otherwise)."""
        if self._conn:
            with contextlib.suppress(OSError):
                Path(f"/sys/fs/fuse/connections/{self._conn}/abort").write_text("1")

    def _work(self) -> None:
        buffer = bytearray(BUFFER)
        view = memoryview(buffer)
        while True:
            try:
                n = os.readv(self.dev, [buffer])
            except OSError as exc:
                if exc.errno in (errno.EINTR, errno.ENOENT, errno.EAGAIN):
                    continue
                return  # ENODEV: unmounted
            if n == 0:
                return
            self._handle(bytes(view[:n]))

    def _reply(self, unique: int, error: int = 0, *parts: bytes) -> None:
        size = sum(len(p) for p in parts)
        try:
            os.writev(self.dev, [proto.out_header(unique, error, size), *parts])
        except OSError as exc:
            if exc.errno not in (errno.ENOENT,):  # ENOENT: the request was interrupted
                print(f"mlvc mount: a reply failed: {exc}", file=sys.stderr)

    def _handle(self, data: bytes) -> None:
        length, opcode, unique, nodeid, *_ = proto.IN_HEADER.unpack_from(data)
        body = memoryview(data)[proto.IN_HEADER.size : length]
        if opcode in (Op.FORGET, Op.BATCH_FORGET):
            self._forget(opcode, nodeid, body)
            return
        if opcode == Op.INTERRUPT:
            return
        if opcode == Op.INIT:
            self._init(unique, body)
            return
        handler = self._ops.get(opcode)
        if handler is None:  # the kernel stops asking (FLUSH, xattrs, ACCESS, STATX...)
            self._reply(unique, -errno.ENOSYS)
            return
        try:
            parts = handler(self, nodeid, body)
        except OSError as exc:
            self._reply(unique, -(exc.errno or errno.EIO))
            return
        except MlvcError as exc:
            print(f"mlvc mount: {exc}", file=sys.stderr)
            self._reply(unique, -errno.EIO)
            return
        except Exception as exc:  # a bug must not take the mount down: EIO, and say it
            print(f"mlvc mount: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
            self._reply(unique, -errno.EIO)
            return
        self._reply(unique, 0, *parts)

    def _init(self, unique: int, body: memoryview) -> None:
        major, _minor, _readahead, flags, flags2 = proto.INIT_IN.unpack_from(body)
        offered = flags | ((flags2 << 32) if flags & proto.FUSE_INIT_EXT else 0)
        if major != proto.KERNEL_MAJOR:
            self._reply(unique, -errno.EPROTO)
            return
        reply, self.passthrough = proto.init_reply(offered, self.want_passthrough)
        self._reply(unique, 0, reply)
        if self.on_ready is not None:
            threading.Thread(target=self.on_ready, daemon=True).start()

    # -- nodes -------------------------------------------------------------------------------

    @staticmethod
    def _id(view: TreeView, rel: str) -> int:
        key = f"{view.root_tree}\0{view.prefix}\0{rel}".encode("utf-8", "surrogateescape")
        value = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
        return value if value > COMMIT else value + COMMIT + 1

    def _when(self, view: TreeView) -> int:
        return view.time * 10**9 + int(view.commit[:8], 16) % 10**9

    def _attrs(self, ino: int, view: TreeView, node: Node | None) -> bytes:
        when = self._when(view)
        if node is None or node.kind in ("dir", "submodule"):
            mode, size, nlink = st.S_IFDIR | 0o555, 0, 2
        elif node.kind == "link":
            mode, size, nlink = st.S_IFLNK | 0o777, view.size(node), 1
        else:
            perm = 0o555 if node.mode & 0o111 else 0o444
            mode, size, nlink = st.S_IFREG | perm, view.size(node), 1
        return proto.attr(ino, mode, size, nlink, when, self.uid, self.gid)

    def _commit_text(self, view: TreeView) -> bytes:
        return f"{view.commit}\n".encode("ascii")

    def _attrs_of(self, nodeid: int) -> tuple[bytes, float]:
        """A node's attributes and how long the kernel may keep them."""
        view = self.view
        if nodeid == proto.ROOT_ID:
            return self._attrs(nodeid, view, None), self._timeout
        if nodeid == META:
            return self._attrs(nodeid, view, None), self._timeout
        if nodeid == COMMIT:
            size = len(self._commit_text(view))
            when = self._when(view)
            attrs = proto.attr(nodeid, st.S_IFREG | 0o444, size, 1, when, self.uid, self.gid)
            return attrs, self._timeout
        inode = self._inode(nodeid)
        return self._attrs(nodeid, inode.view, inode.node), 3600.0  # a node never changes

    def _inode(self, nodeid: int) -> _Inode:
        with self._lock:
            inode = self._nodes.get(nodeid)
        if inode is None:
            raise OSError(errno.ESTALE, "unknown node")
        return inode

    def _dir(self, nodeid: int) -> tuple[TreeView, str, Node | None]:
        """The view, path and node of a folder node (None for the root's own node)."""
        if nodeid == proto.ROOT_ID:
            return self.view, "", None
        inode = self._inode(nodeid)
        return inode.view, inode.rel, inode.node

    # -- operations --------------------------------------------------------------------------

    def _lookup(self, parent: int, body: memoryview) -> list[bytes]:
        name = bytes(body).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        if parent == META:
            if name != "commit":
                raise OSError(errno.ENOENT, name)
            attrs, valid = self._attrs_of(COMMIT)
            return [proto.entry_out(COMMIT, self._timeout, valid, attrs)]
        if parent == proto.ROOT_ID and name == ".mlvc":
            attrs, valid = self._attrs_of(META)
            return [proto.entry_out(META, self._timeout, valid, attrs)]
        view, rel, node = self._dir(parent)
        if node is not None and node.kind != "dir":
            raise OSError(errno.ENOTDIR, name)
        child_rel = f"{rel}/{name}" if rel else name
        child = view.lookup(child_rel)
        if child is None:
            raise OSError(errno.ENOENT, name)
        nodeid = self._id(view, child_rel)
        with self._lock:
            inode = self._nodes.get(nodeid)
            if inode is None:
                inode = self._nodes[nodeid] = _Inode(view, child, child_rel)
            inode.lookups += 1
        attrs = self._attrs(nodeid, view, child)
        return [proto.entry_out(nodeid, self._timeout, 3600.0, attrs)]

    def _forget(self, opcode: int, nodeid: int, body: memoryview) -> None:
        if opcode == Op.FORGET:
            pairs = [(nodeid, proto.FORGET_IN.unpack_from(body)[0])]
        else:
            count = proto.BATCH_FORGET_IN.unpack_from(body)[0]
            size, start = proto.FORGET_ONE.size, proto.BATCH_FORGET_IN.size
            pairs = [proto.FORGET_ONE.unpack_from(body, start + i * size) for i in range(count)]
        with self._lock:
            for node, n in pairs:
                inode = self._nodes.get(node)
                if inode is None:
                    continue
                inode.lookups -= n
                if inode.lookups <= 0 and inode.opens == 0:
                    del self._nodes[node]

    def _getattr(self, nodeid: int, body: memoryview) -> list[bytes]:
        attrs, valid = self._attrs_of(nodeid)
        return [proto.ATTR_OUT.pack(int(valid), 0, 0), attrs]

    def _readlink(self, nodeid: int, body: memoryview) -> list[bytes]:
        inode = self._inode(nodeid)
        if inode.node.kind != "link":
            raise OSError(errno.EINVAL, "not a link")
        return [inode.view.link_target(inode.node)]

    def _new_handle(self, handle: _Handle) -> int:
        with self._lock:
            fh = self._next_fh
            self._next_fh += 1
            self._handles[fh] = handle
        return fh

    def _open(self, nodeid: int, body: memoryview) -> list[bytes]:
        flags = proto.OPEN_IN.unpack_from(body)[0]
        if flags & os.O_ACCMODE != os.O_RDONLY or flags & (os.O_TRUNC | os.O_APPEND):
            raise OSError(errno.EROFS, "read-only")
        if nodeid == COMMIT:
            fh = self._new_handle(_Handle(nodeid, self._commit_text(self.view)))
            return [proto.OPEN_OUT.pack(fh, proto.FOPEN_DIRECT_IO, 0)]
        if nodeid in (proto.ROOT_ID, META):
            raise OSError(errno.EISDIR, "a folder")
        inode = self._inode(nodeid)
        node, view = inode.node, inode.view
        if node.kind in ("dir", "submodule"):
            raise OSError(errno.EISDIR, "a folder")
        if self.passthrough:
            found = lfs_object(view.reg, view.lock, view.root_tree, node.path, node.id, view.ref)
            passed = None if found is None else self._passthrough(inode, found[0], node.path)
            if passed is not None:
                fh = self._new_handle(_Handle(nodeid))
                return [proto.OPEN_OUT.pack(fh, proto.FOPEN_PASSTHROUGH, passed)]
        source = open_source(view.reg, view.lock, view.root_tree, node.path, node.id, view.ref)
        fh = self._new_handle(_Handle(nodeid, source))
        return [proto.OPEN_OUT.pack(fh, proto.FOPEN_KEEP_CACHE, 0)]

    def _passthrough(self, inode: _Inode, pointer: LfsPointer, where: str) -> int | None:
        """Verify the LFS object (once), then register its file with the kernel; the
        backing id, or None when the kernel refuses it (then mlvc serves it)."""
        store = LfsStore(inode.view.reg.repo.controldir())
        with self._lock:
            one = self._verifying.setdefault(pointer.oid, threading.Lock())
        with one:  # two opens of one object hash it once
            good = verify(store, pointer)
        if not good:
            mark_bad(pointer.oid)
            raise Corrupt(
                f"{where}: its LFS object {pointer.oid[:12]} is corrupt: it hashes differently"
            )
        with self._lock:
            if inode.backing < 0:
                fd = os.open(store.path_of(pointer.oid), os.O_RDONLY | os.O_CLOEXEC)
                try:
                    inode.backing = proto.backing_open(self.dev, fd)
                except OSError as exc:  # e.g. a store on a file system stacked too deep
                    self.passthrough = False
                    print(
                        f"mlvc mount: FUSE passthrough refused ({exc.strerror}): "
                        "LFS objects are served by mlvc",
                        file=sys.stderr,
                    )
                    return None
                finally:
                    os.close(fd)
            inode.opens += 1
            return inode.backing

    def _read(self, nodeid: int, body: memoryview) -> list[bytes]:
        fh, offset, size, _ = proto.READ_IN.unpack_from(body)
        with self._lock:
            handle = self._handles.get(fh)
        if handle is None or handle.source is None:
            raise OSError(errno.EBADF, "no such handle")
        if isinstance(handle.source, bytes):
            return [handle.source[offset : offset + size]]
        return [handle.source.read(offset, size)]

    def _release(self, nodeid: int, body: memoryview) -> list[bytes]:
        fh = proto.RELEASE_IN.unpack_from(body)[0]
        with self._lock:
            handle = self._handles.pop(fh, None)
            inode = self._nodes.get(nodeid)
            close = -1
            if handle is not None and handle.source is None and inode is not None:
                inode.opens -= 1
                if inode.opens == 0:
                    close, inode.backing = inode.backing, -1
                    if inode.lookups <= 0:
                        del self._nodes[nodeid]
        if close >= 0:
            proto.backing_close(self.dev, close)
        if handle is not None and isinstance(handle.source, FileSource):
            handle.source.close()
        return []

    def _entries(self, nodeid: int) -> list[tuple[int, int, bytes]]:
        """A folder's entries as (ino, DT_ type, name), "." and ".." first."""
        out = [(nodeid, st.S_IFDIR >> 12, b"."), (proto.ROOT_ID, st.S_IFDIR >> 12, b"..")]
        if nodeid == META:
            return [*out, (COMMIT, st.S_IFREG >> 12, b"commit")]
        view, rel, node = self._dir(nodeid)
        if node is None:
            node = view.lookup("")
            assert node is not None
        for name, child in view.children(node):
            kind = {"dir": st.S_IFDIR, "submodule": st.S_IFDIR, "link": st.S_IFLNK}.get(
                child.kind, st.S_IFREG
            )
            child_rel = f"{rel}/{name}" if rel else name
            encoded = name.encode("utf-8", "surrogateescape")
            out.append((self._id(view, child_rel), kind >> 12, encoded))
        if nodeid == proto.ROOT_ID:
            out = [e for e in out if e[2] != b".mlvc"] + [(META, st.S_IFDIR >> 12, b".mlvc")]
        return out

    def _opendir(self, nodeid: int, body: memoryview) -> list[bytes]:
        if nodeid not in (proto.ROOT_ID, META):
            inode = self._inode(nodeid)
            if inode.node.kind not in ("dir", "submodule"):
                raise OSError(errno.ENOTDIR, "not a folder")
        return [proto.OPEN_OUT.pack(0, 0, 0)]

    def _readdir(self, nodeid: int, body: memoryview) -> list[bytes]:
        _, offset, size, _ = proto.READ_IN.unpack_from(body)
        parts, used = [], 0
        for index, (ino, kind, name) in enumerate(self._entries(nodeid)):
            if index < offset:
                continue
            record = proto.dirent(ino, index + 1, kind, name)
            if used + len(record) > size:
                break
            parts.append(record)
            used += len(record)
        return parts

    def _statfs(self, nodeid: int, body: memoryview) -> list[bytes]:
        return [proto.STATFS_OUT.pack(0, 0, 0, 0, 0, 1 << 20, 255, 1 << 20, 0)]

    def _empty(self, nodeid: int, body: memoryview) -> list[bytes]:
        return []

    _ops: ClassVar[dict[int, Callable[[KernelServer, int, memoryview], list[bytes]]]] = {
        Op.LOOKUP: _lookup,
        Op.GETATTR: _getattr,
        Op.READLINK: _readlink,
        Op.OPEN: _open,
        Op.READ: _read,
        Op.RELEASE: _release,
        Op.OPENDIR: _opendir,
        Op.READDIR: _readdir,
        Op.RELEASEDIR: _empty,
        Op.STATFS: _statfs,
        Op.DESTROY: _empty,
    }

    def _close_all(self) -> None:
        with self._lock:
            handles, self._handles = list(self._handles.values()), {}
        for handle in handles:
            if isinstance(handle.source, FileSource):
                handle.source.close()
