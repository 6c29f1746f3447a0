"""Files on any ref, read in chunks: the layer under `reg.open`, `mlvc cp` and the fsspec
filesystem. A path `.gitattributes` sends to Git LFS is read through its pointer from the
repository's LFS store (the writing side is :mod:`mlvc_tui.engine.git.staging`).
"""

from __future__ import annotations

import functools
import glob
import hashlib
import os
import stat as st
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.blobio import CHUNK, blob_size, open_blob, temp_dir
from mlvc_tui.engine.git.lfs import MAX_POINTER, LfsPointer, LfsStore, parse_pointer
from mlvc_tui.engine.git.objects import GITLINK
from mlvc_tui.engine.git.paths import UnsafePath, refusal, unsafe_name, verify_path
from mlvc_tui.engine.values import Storage

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "FileStat",
    "checkout_blob",
    "copy_out",
    "lfs_configured",
    "listdir",
    "open_lfs",
    "open_read",
    "pointer_at",
    "stat",
    "worktree_holds",
]


@dataclass(frozen=True, slots=True)
class FileStat:
    """A path on a ref: a file (blob or LFS), a folder or a submodule."""

    path: str
    type: str  # "file", "directory" or "submodule"
    size: int | None  # the real size (an LFS file's, not its pointer's); None for folders
    id: str  # blob id, LFS oid (sha256), tree id or pinned commit
    blob_id: str  # the git object id in the tree
    storage: Storage | None = None  # None for folders

    @property
    def is_file(self) -> bool:
        return self.type == "file"


def _entry(reg: Registry, ref: str, path: str) -> tuple[str, int, str]:
    """(root tree, mode, id) of a path on a ref; BadInput when it is not there."""
    tree = reg.tree_of(ref)
    clean = path.strip("/")
    if not clean:
        return tree, st.S_IFDIR, tree
    verify_path(clean, where=ref)
    hit = reg.objects.lookup(tree, clean)
    if hit is None:
        raise BadInput(f"no file {clean} on {ref}")
    return tree, hit[0], hit[1]


def pointer_at(reg: Registry, tree: str, path: str, blob_id: str, size: int) -> LfsPointer | None:
    """The LFS pointer a blob holds, when git would treat it as one.

    That is: the path is marked ``filter=lfs`` in `.gitattributes`, or the object it names
    is in the local LFS store (a pointer committed under another attributes file).
    """
    if size >= MAX_POINTER:
        return None
    pointer = parse_pointer(reg.objects.blob(blob_id))
    if pointer is None:
        return None
    lfs = reg.lfs_paths(tree)
    if (lfs and lfs.match(path)) or LfsStore(reg.repo.controldir()).has(pointer.oid):
        return pointer
    return None


def _stat(reg: Registry, tree: str, path: str, mode: int, sha: str) -> FileStat:
    if st.S_ISDIR(mode):
        return FileStat(path, "directory", None, sha, sha)
    if mode == GITLINK:
        return FileStat(path, "submodule", None, sha, sha, Storage.SUBMODULE)
    size = blob_size(reg, sha)
    pointer = pointer_at(reg, tree, path, sha, size)
    if pointer is not None:
        return FileStat(path, "file", pointer.size, pointer.oid, sha, Storage.LFS)
    return FileStat(path, "file", size, sha, sha, Storage.BLOB)


def stat(reg: Registry, ref: str, path: str) -> FileStat:
    """What ``path`` is on ``ref``; BadInput when it is not there."""
    tree, mode, sha = _entry(reg, ref, path)
    return _stat(reg, tree, path.strip("/"), mode, sha)


def listdir(reg: Registry, ref: str, path: str) -> list[FileStat]:
    """The entries of a folder on a ref (the root for "")."""
    tree, mode, sha = _entry(reg, ref, path)
    clean = path.strip("/")
    if not st.S_ISDIR(mode):
        return [_stat(reg, tree, clean, mode, sha)]
    prefix = f"{clean}/" if clean else ""
    for name, m, _ in reg.objects.tree(sha):
        if (why := unsafe_name(name, m)) is not None:
            raise UnsafePath(refusal(prefix + name, why, ref))
    return [_stat(reg, tree, prefix + name, m, s) for name, m, s in reg.objects.tree(sha)]


def open_read(reg: Registry, ref: str, path: str) -> BinaryIO:
    """A file's content on a ref as a binary stream (LFS content for an LFS file)."""
    tree, mode, sha = _entry(reg, ref, path)
    clean = path.strip("/")
    if st.S_ISDIR(mode) or mode == GITLINK:
        what = "submodule" if mode == GITLINK else "folder"
        raise BadInput(f"{clean or '/'} on {ref} is a {what}, not a file")
    pointer = pointer_at(reg, tree, clean, sha, blob_size(reg, sha))
    if pointer is not None:
        return open_lfs(reg, pointer, f"{clean} on {ref}", ref)
    return open_blob(reg, sha)


def open_lfs(reg: Registry, pointer: LfsPointer, where: str, ref: str | None = None) -> BinaryIO:
    """An LFS object's content; one missing here is downloaded first (sha256-checked while
    streaming) from the LFS server of the ref's remote, when one is known."""
    store = LfsStore(reg.repo.controldir())
    if not store.has(pointer.oid, pointer.size):
        from mlvc_tui.engine.git.lfs_endpoint import client_for, lfs_url

        if lfs_url(reg, None, ref) is not None:
            client_for(reg, None, ref).download(pointer, store)
    return store.open(pointer, where)


def copy_out(reg: Registry, ref: str, path: str, dest: str | os.PathLike[str]) -> FileStat:
    """Copy a file on a ref to a local file, in chunks, checking its id on the way.

    The local file appears whole or not at all (written beside it, then renamed).
    """
    info = stat(reg, ref, path)
    target = Path(dest)
    from mlvc_tui.engine.git.locks import sweep

    sweep(list(target.parent.glob(f".{glob.escape(target.name)}.*")))  # a crashed copy's
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, open_read(reg, ref, path) as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if info.storage is Storage.LFS and digest.hexdigest() != info.id:
            raise BadInput(
                f"the LFS object of {info.path} is corrupt: its bytes hash to "
                f"{digest.hexdigest()[:12]}, not {info.id[:12]}"
            )
        os.chmod(temp, file_mode())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return info


def lfs_configured(reg: Registry) -> bool:
    """Whether git here runs git-lfs's filter (``filter.lfs.process`` or ``.smudge`` set)."""
    config = reg.repo.get_config_stack()
    for key in (b"process", b"smudge"):
        try:
            if config.get((b"filter", b"lfs"), key):
                return True
        except KeyError:
            continue
    return False


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)  # reading it means setting it: once per process, at first use
    os.umask(mask)
    return mask


def file_mode(executable: bool = False) -> int:
    """The mode git gives a file it checks out: 0o666 or 0o777 less the umask."""
    return (0o777 if executable else 0o666) & ~_umask()


def checkout_blob(
    reg: Registry,
    blob_id: str,
    target: Path,
    smudge: bool | None = None,
    executable: bool = False,
) -> None:
    """Write a blob into a working-tree file, in chunks, replacing it at once.

    An LFS pointer whose object is in the local store is written as that content when
    ``smudge`` (default: when git here runs git-lfs, as git would); the caller records the
    pointer's id in the index either way.
    """
    size = blob_size(reg, blob_id)
    pointer = parse_pointer(reg.objects.blob(blob_id)) if size < MAX_POINTER else None
    if pointer is not None and not (lfs_configured(reg) if smudge is None else smudge):
        pointer = None
    store = LfsStore(reg.repo.controldir())
    fd, temp = tempfile.mkstemp(dir=_spool_for(reg, target.parent), prefix=".mlvc-")
    try:
        with os.fdopen(fd, "wb") as out:
            src = (
                store.open(pointer)
                if pointer and store.has(pointer.oid, pointer.size)
                else open_blob(reg, blob_id)
            )
            with src:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
        os.chmod(temp, file_mode(executable))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _spool_for(reg: Registry, folder: Path) -> Path:
    """Where a file is written before it replaces a working-tree one: `.git/mlvc/tmp`, where a
    crash's leftover is swept and never shows in `git status`, when it is on the same disk
    (a rename cannot cross disks); else the folder itself."""
    spool = temp_dir(reg)
    return spool if spool.stat().st_dev == folder.stat().st_dev else folder


def worktree_holds(reg: Registry, target: Path, blob_id: str) -> bool:
    """Whether a working-tree file holds a blob: its bytes, or an LFS pointer's content."""
    from mlvc_tui.engine.git.worktree import git_blob_id

    if not target.is_file():
        return False
    sha1, sha256 = git_blob_id(target)
    if sha1 == blob_id:
        return True
    size = blob_size(reg, blob_id)
    pointer = parse_pointer(reg.objects.blob(blob_id)) if size < MAX_POINTER else None
    return pointer is not None and sha256 == pointer.oid
