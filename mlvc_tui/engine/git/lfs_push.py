"""The LFS half of a push: every LFS object the pushed commits reference goes to the LFS
server BEFORE any ref moves, so the server never holds a pointer whose object is missing.

A push calls `upload_for_push(reg, remote, new_tips, remote_tips)` and sends the pack and
ref updates only when it returns; an interrupted upload raises and no ref has moved, and
running the push again sends what the server still lacks (the batch API says which).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dulwich.diff_tree import tree_changes
from dulwich.objects import Commit, ObjectID, Tag

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.lfs import MAX_POINTER, LfsPointer, LfsStore, parse_pointer
from mlvc_tui.engine.git.lfs_endpoint import client_for, derive_lfs_url, lfs_url
from mlvc_tui.engine.git.lfs_transfer import LfsClient, Progress

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["lfs_objects_to_push", "remote_named", "upload_for_push", "upload_to_url"]


def _commit_of(store: Any, sha: str) -> ObjectID | None:
    """The commit an id names (tags peeled); None when it is not here or not a commit."""
    key = ObjectID(sha.encode("ascii"))
    for _ in range(16):
        if key not in store:
            return None
        obj = store[key]
        if isinstance(obj, Tag):
            key = obj.object[1]
            continue
        return key if isinstance(obj, Commit) else None
    return None


def lfs_objects_to_push(
    reg: Registry, new_tips: Iterable[str], remote_tips: Iterable[str] = ()
) -> list[LfsPointer]:
    """The LFS pointers added or changed by commits reachable from ``new_tips`` and not from
    ``remote_tips`` (the commits a push would send), in first-seen order."""
    repo = reg.repo
    store = repo.object_store
    have = [c for t in remote_tips if (c := _commit_of(store, t)) is not None]
    want = [c for t in new_tips if (c := _commit_of(store, t)) is not None]
    if not want:
        return []
    found: dict[str, LfsPointer] = {}
    local = LfsStore(repo.controldir())
    for entry in repo.get_walker(include=want, exclude=have or None):
        commit: Commit = entry.commit
        attrs = reg.lfs_paths(commit.tree.decode("ascii"))
        parents: list[ObjectID | None] = list(commit.parents) or [None]
        for parent in parents:
            above = store[parent] if parent is not None else None
            base = above.tree if isinstance(above, Commit) else None
            for change in tree_changes(store, base, commit.tree):
                new = change.new
                if new is None or new.sha is None or new.path is None:
                    continue
                path = new.path.decode("utf-8", "surrogateescape")
                if new.mode is None or new.mode >> 12 != 8:  # files only
                    continue
                obj = store[new.sha]
                if obj.raw_length() >= MAX_POINTER:
                    continue
                pointer = parse_pointer(obj.as_raw_string())
                # as git-lfs: a pointer at a filter=lfs path, or one whose object is here
                if pointer is not None and (
                    (attrs and attrs.match(path)) or local.has(pointer.oid)
                ):
                    found.setdefault(pointer.oid, pointer)
    return list(found.values())


def upload_for_push(
    reg: Registry,
    remote: str,
    new_tips: Iterable[str],
    remote_tips: Iterable[str] = (),
    progress: Progress | None = None,
    token: str | None = None,
) -> int:
    """Upload the LFS objects a push of ``new_tips`` needs; how many the server lacked.

    Raises (and nothing should be pushed) when an object is missing locally, the server is
    unreachable, or the credentials are refused.
    """
    pointers = lfs_objects_to_push(reg, new_tips, remote_tips)
    if not pointers:
        return 0
    client = client_for(reg, remote, token=token)
    return client.upload_many(pointers, LfsStore(reg.repo.controldir()), progress)


def remote_named(reg: Registry, url: str) -> str | None:
    """The name of the configured remote whose URL is ``url``, if any."""
    config = reg.repo.get_config()
    for section in config.sections():
        if len(section) == 2 and section[0] == b"remote":
            try:
                if config.get(section, b"url").decode() == url:
                    return section[1].decode()
            except KeyError:
                continue
    return None


def _local_store(url: str) -> LfsStore | None:
    """The LFS store of a repository on this machine named by a push URL (as git-lfs does
    for file remotes), or None for a network URL."""
    path = url.removeprefix("file://")
    if "://" in path or not Path(path).is_dir():
        return None
    root = Path(path)
    return LfsStore(root / ".git" if (root / ".git").is_dir() else root)


def upload_to_url(
    reg: Registry,
    url: str,
    new_tips: Iterable[str],
    remote_tips: Iterable[str] = (),
    progress: Progress | None = None,
) -> tuple[int, int]:
    """The LFS objects a push of ``new_tips`` to ``url`` needs, sent to the LFS server of that
    remote (``lfs.url`` or derived), or copied into a local repository's store; (objects
    referenced, objects sent)."""
    pointers = lfs_objects_to_push(reg, new_tips, remote_tips)
    if not pointers:
        return 0, 0
    mine = LfsStore(reg.repo.controldir())
    local = _local_store(url)
    if local is not None:
        sent = 0
        for p in pointers:
            if local.has(p.oid, p.size):
                continue
            if not mine.has(p.oid, p.size):
                raise BadInput(f"LFS object {p.oid[:12]} is not in the local LFS store")
            temp = Path(tempfile.mkstemp(dir=local.temp_dir(), prefix=p.oid[:12])[1])
            try:
                shutil.copyfile(mine.path_of(p.oid), temp)
                local.adopt(temp, p.oid)
            finally:
                temp.unlink(missing_ok=True)
            sent += 1
        return len(pointers), sent
    name = remote_named(reg, url)
    endpoint = lfs_url(reg, name) if name else None
    client = LfsClient(
        endpoint or derive_lfs_url(url) or url, token=os.environ.get("MLVC_LFS_TOKEN") or None
    )
    return len(pointers), client.upload_many(pointers, mine, progress)
