"""The LFS half of a push: every LFS object the pushed commits reference goes to the LFS
server BEFORE any ref moves, so the server never holds a pointer whose object is missing.

A push calls `upload_for_push(reg, remote, new_tips, remote_tips)` and sends the pack and
ref updates only when it returns; an interrupted upload raises and no ref has moved, and
running the push again sends what the server still lacks (the batch API says which).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from dulwich.diff_tree import tree_changes
from dulwich.objects import Commit

from mlvc_tui.engine.git.lfs import MAX_POINTER, LfsPointer, LfsStore, parse_pointer
from mlvc_tui.engine.git.lfs_endpoint import client_for
from mlvc_tui.engine.git.lfs_transfer import Progress

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["lfs_objects_to_push", "upload_for_push"]


def lfs_objects_to_push(
    reg: Registry, new_tips: Iterable[str], remote_tips: Iterable[str] = ()
) -> list[LfsPointer]:
    """The LFS pointers added or changed by commits reachable from ``new_tips`` and not from
    ``remote_tips`` (the commits a push would send), in first-seen order."""
    repo = reg.repo
    store = repo.object_store
    have = [t.encode("ascii") for t in remote_tips if t.encode("ascii") in store]
    want = [t.encode("ascii") for t in new_tips]
    found: dict[str, LfsPointer] = {}
    local = LfsStore(repo.controldir())
    for entry in repo.get_walker(include=want, exclude=have or None):
        commit: Commit = entry.commit
        attrs = reg.lfs_paths(commit.tree.decode("ascii"))
        parents = commit.parents or [None]
        for parent in parents:
            base = store[parent].tree if parent is not None else None  # type: ignore[attr-defined]
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
