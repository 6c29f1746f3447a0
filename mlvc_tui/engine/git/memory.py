"""Objects built in memory and written as one pack: how the demo registry is made.

`MemoryObjects` makes blobs, trees, commits and annotated tags from plain values and keeps
them by id (hex bytes); `write_repository` writes them as a fresh repository with one pack,
its branches, tags and an index for the checked-out branch.
"""

from __future__ import annotations

import os
from pathlib import Path

from dulwich.index import build_index_from_tree
from dulwich.objects import Blob, Commit, ShaFile, Tag, Tree
from dulwich.pack import write_pack
from dulwich.repo import Repo

from mlvc_tui.engine.git.ids import HEAD, object_id, ref_name

__all__ = ["MemoryObjects", "write_repository"]

DIR_MODE, FILE_MODE = 0o040000, 0o100644


class MemoryObjects:
    """Git objects held in memory, by id."""

    def __init__(self) -> None:
        self._objects: dict[bytes, ShaFile] = {}

    def __len__(self) -> int:
        return len(self._objects)

    def _add(self, obj: ShaFile) -> bytes:
        self._objects.setdefault(obj.id, obj)
        return obj.id

    def blob(self, data: bytes) -> bytes:
        return self._add(Blob.from_string(data))

    def tree(self, entries: list[tuple[str, int, bytes]]) -> bytes:
        """A tree of (name, mode, id) entries (DIR_MODE or FILE_MODE)."""
        tree = Tree()
        for name, mode, sha in entries:
            tree.add(name.encode(), mode, object_id(sha))
        return self._add(tree)

    def commit(
        self, tree: bytes, parents: list[bytes], who: str, when: int, tz: int, message: str
    ) -> bytes:
        c = Commit()
        c.tree = object_id(tree)
        c.parents = [object_id(p) for p in parents]
        c.author = c.committer = who.encode()
        c.author_time = c.commit_time = when
        c.author_timezone = c.commit_timezone = tz
        c.message = message.rstrip("\n").encode() + b"\n"
        return self._add(c)

    def tag(self, name: str, commit: bytes, who: str, when: int, tz: int, message: str) -> bytes:
        """An annotated tag of a commit."""
        t = Tag()
        t.name = name.encode()
        t.object = (Commit, object_id(commit))
        t.tagger = who.encode()
        t.tag_time, t.tag_timezone = when, tz
        t.message = message.rstrip("\n").encode() + b"\n"
        return self._add(t)

    def objects(self) -> list[ShaFile]:
        return list(self._objects.values())


def write_repository(
    root: Path, objects: MemoryObjects, heads: dict[str, bytes], tags: dict[str, bytes], head: str
) -> None:
    """A new repository at ``root``: one pack, the branches and tags, HEAD on ``head`` and
    its files in the index (the working tree itself is left to the caller)."""
    with Repo.init(str(root)) as repo:
        # One pack, written directly (add_objects would re-read it to index it).
        tmp = os.path.join(repo.object_store.pack_dir, "tmp-demo")
        checksum, _ = write_pack(tmp, objects.objects(), repo.object_format, compression_level=1)
        for ext in (".pack", ".idx"):
            os.replace(
                tmp + ext, os.path.join(repo.object_store.pack_dir, f"pack-{checksum.hex()}{ext}")
            )
        for name, cid in heads.items():
            repo.refs[ref_name(f"refs/heads/{name}")] = object_id(cid)
        for name, tid in tags.items():
            repo.refs[ref_name(f"refs/tags/{name}")] = object_id(tid)
        repo.refs.set_symbolic_ref(HEAD, ref_name(f"refs/heads/{head}"))
        commit = repo[object_id(heads[head])]
        assert isinstance(commit, Commit)
        tree = commit.tree
        build_index_from_tree(repo.path, repo.index_path(), repo.object_store, tree)
