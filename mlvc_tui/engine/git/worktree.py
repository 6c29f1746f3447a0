"""The checked-out branch's working tree: which artifacts differ from its commit."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from dulwich.ignore import IgnoreFilterManager
from dulwich.index import ConflictedIndexEntry, Index, IndexEntry
from dulwich.repo import Repo

from mlvc_tui.engine.config import RegistryConfig
from mlvc_tui.engine.git.objects import encode
from mlvc_tui.engine.metrics import METRIC_SUFFIXES
from mlvc_tui.engine.values import Artifact, Storage, WorktreeChange

__all__ = ["git_blob_id", "worktree_changes", "worktree_metrics_files"]

_CHUNK = 1 << 20


_HASHED: dict[tuple[str, int, int, int, int], tuple[str, str]] = {}


def git_blob_id(path: Path) -> tuple[str, str]:
    """(git blob id, sha256) of a file, read in chunks (models can be large).

    Remembered per file state (size, inode, mtime and ctime in ns: a rewrite changes the
    ctime), so a racily clean multi-GB model is hashed once per process, not per refresh.
    """
    st = path.stat()
    key = (str(path), st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
    hit = _HASHED.get(key)
    if hit is not None:
        return hit
    sha1 = hashlib.sha1(f"blob {st.st_size}\0".encode())
    sha256 = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha1.update(chunk)
            sha256.update(chunk)
    if len(_HASHED) > 4096:
        _HASHED.clear()
    hit = _HASHED[key] = (sha1.hexdigest(), sha256.hexdigest())
    return hit


def _walk(root: Path, roots: tuple[str, ...] | None) -> Iterator[str]:
    """Relative paths of files below the artifact roots (every root when None)."""
    tops = [root / r for r in roots] if roots is not None else [root]
    for top in tops:
        if top.is_file():
            yield top.relative_to(root).as_posix()
            continue
        for folder, dirs, names in os.walk(top):
            if (".git" in dirs or ".git" in names) and Path(folder) != root:
                dirs[:] = []  # a submodule's (or a nested repository's) own files
                continue
            dirs[:] = [d for d in dirs if d != ".git"]
            rel = Path(folder).relative_to(root)
            for name in names:
                yield (rel / name).as_posix()


def _mtime_ns(value: int | float | tuple[int, int]) -> int:
    if isinstance(value, tuple):
        return value[0] * 1_000_000_000 + value[1]
    return int(value * 1_000_000_000)


def _same(path: Path, art: Artifact, index_entry: object | None, racy_from: int) -> bool:
    """Whether a file on disk holds the committed artifact's bytes (stat first, then hash).

    As in git, the index's size and nanosecond time vouch for a file only when the file
    was last changed before the second the index was written ("racy git" otherwise).
    """
    try:
        st = path.stat()
    except OSError:
        return False
    if index_entry is not None and art.storage is not Storage.LFS:
        sha = getattr(index_entry, "sha", b"").decode("ascii")
        same_stat = (
            getattr(index_entry, "size", -1) == st.st_size
            and _mtime_ns(getattr(index_entry, "mtime", 0)) == st.st_mtime_ns
            and st.st_mtime_ns < racy_from
        )
        if same_stat and sha == art.blob_id:
            return True
    if art.storage is Storage.BLOB and art.size is not None and st.st_size != art.size:
        return False  # another size: other bytes, no need to hash (a growing log, say)
    blob_id, sha256 = git_blob_id(path)
    if art.storage is Storage.LFS:  # the real content, or the pointer itself (not smudged)
        return sha256 == art.id or blob_id == art.blob_id
    return blob_id == art.blob_id


def _entry(index: Index | None, path: str) -> IndexEntry | ConflictedIndexEntry | None:
    key = encode(path)
    return index[key] if index is not None and key in index else None


def _tree_files(repo: Repo, folder: str, tree_id: str) -> dict[str, Artifact] | None:
    """The committed files of a folder model (as artifacts), or None when not a folder."""
    from dulwich.objects import ObjectID, Tree

    from mlvc_tui.engine.git.lfs import MAX_POINTER, parse_pointer

    store = repo.object_store
    key = ObjectID(tree_id.encode("ascii"))
    if not tree_id or key not in store or not isinstance(store[key], Tree):
        return None
    out = {}
    for entry in store.iter_tree_contents(key):
        if entry.path is None or entry.sha is None:
            continue
        path = f"{folder}/{entry.path.decode('utf-8', 'surrogateescape')}"
        sha = entry.sha.decode("ascii")
        obj = store[entry.sha]
        pointer = parse_pointer(obj.as_raw_string()) if obj.raw_length() < MAX_POINTER else None
        if pointer is not None:
            out[path] = Artifact(path, "models", pointer.oid, sha, pointer.size, Storage.LFS)
        else:
            out[path] = Artifact(path, "models", sha, sha, obj.raw_length(), Storage.BLOB)
    return out


def worktree_changes(
    repo: Repo, committed: dict[str, Artifact], config: RegistryConfig
) -> tuple[WorktreeChange, ...]:
    """Artifacts modified, added or deleted on disk against the checked-out commit."""
    root = Path(repo.path)
    try:
        index = repo.open_index()
        racy_from = Path(repo.index_path()).stat().st_mtime_ns // 10**9 * 10**9
    except (OSError, ValueError):
        index, racy_from = None, 0
    ignored = IgnoreFilterManager.from_repo(repo)
    on_disk = {
        p
        for p in _walk(root, config.artifact_roots)
        if config.kind_of(p) and (p in committed or not ignored.is_ignored(p))
    }
    changes: list[WorktreeChange] = []
    folders = {}
    for path, art in committed.items():  # a folder model is one artifact here too
        if art.storage is not Storage.SUBMODULE and (root / path).is_dir():
            files = _tree_files(repo, path, art.blob_id)
            if files is not None:
                folders[path] = (art, files)
    for path, (art, files) in folders.items():
        inside = {p for p in on_disk if p.startswith(f"{path}/")}
        on_disk -= inside
        if inside != set(files) or not all(
            _same(root / p, a, _entry(index, p), racy_from) for p, a in files.items()
        ):
            changes.append(WorktreeChange(path, art.kind, "modified"))
    for path in sorted(on_disk | committed.keys()):
        if path in folders:
            continue
        known = committed.get(path)
        kind = config.kind_of(path) or "data"
        if known is None:
            changes.append(WorktreeChange(path, kind, "added"))
        elif known.storage is Storage.SUBMODULE:
            continue
        elif path not in on_disk:
            changes.append(WorktreeChange(path, kind, "deleted"))
        else:
            key = encode(path)
            entry = index[key] if index is not None and key in index else None
            if not _same(root / path, known, entry, racy_from):
                changes.append(WorktreeChange(path, kind, "modified"))
    return tuple(changes)


def worktree_metrics_files(root: Path) -> list[tuple[str, bytes]]:
    """(path, bytes) of every metrics file in the working tree."""
    out = []
    for path in _walk(root, ("metrics",)):
        if path.lower().endswith(METRIC_SUFFIXES):
            out.append((path, (root / path).read_bytes()))
    return out
