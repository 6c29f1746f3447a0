"""A three-way merge of two commits in the object store, file by file, with artifact rules.

- A file changed on one side only takes that side; the same change on both sides is kept.
- Artifact paths (models/, metrics/, logs/, monitoring/, data/ and configured kinds) that
  both sides changed take the candidate's side. A model travels with its metrics: when the
  candidate changed its model, every path under models/ and metrics/ is the candidate's.
- Other files both sides changed are merged line by line (merge3); a conflict there, or a
  file/folder clash, is a code conflict: the merge is refused with the list of files.

Nothing is written while merging: merged text stays in memory (``new_blobs``) until
:func:`write_merge_tree` stores it, so a refused or dry-run promotion leaves no objects.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from dulwich.graph import find_merge_base
from dulwich.merge import merge_blobs
from dulwich.objects import Blob, Tree

from mlvc_tui.engine.git.ids import hex_of, object_id
from mlvc_tui.engine.git.objects import GITLINK, TreeEntry, encode
from mlvc_tui.engine.git.objwrite import add_object

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["MergeResult", "merge_commits", "write_merge_tree"]

Entry = tuple[int, str]  # (mode, blob id)
_Folder: TypeAlias = "dict[str, _Folder | Entry]"  # the merged files as nested folders
_TRAVEL_TOGETHER = ("models", "metrics")


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The merged file list of ``ours`` (the target) and ``theirs`` (the candidate)."""

    base: str | None
    ours: str
    theirs: str
    files: Mapping[str, Entry]
    new_blobs: Mapping[str, bytes] = field(default_factory=dict)  # id -> merged text
    conflicts: tuple[str, ...] = ()  # code paths: the merge cannot be done
    resolved: tuple[str, ...] = ()  # artifact paths that took the candidate's side
    fast_forward: bool = False  # ours is an ancestor of theirs
    up_to_date: bool = False  # theirs is already in ours

    def blob(self, reg: Registry, blob_id: str) -> bytes:
        """The bytes of a file of the result (merged text or a stored blob)."""
        data = self.new_blobs.get(blob_id)
        return data if data is not None else reg.objects.blob(blob_id)


def _flat(reg: Registry, commit: str | None) -> dict[str, Entry]:
    if commit is None:
        return {}
    files: dict[str, TreeEntry] = reg.objects.files(reg.objects.commit(commit)[1])
    return {p: (e.mode, e.sha) for p, e in files.items()}


def _merge_text(reg: Registry, path: str, b: Entry | None, o: Entry, t: Entry) -> bytes | None:
    """The line merge of a file both sides changed; None on a conflict."""
    if o[0] != t[0] or GITLINK in (o[0], t[0]) or (b is not None and b[0] == GITLINK):
        return None

    def blob(entry: Entry | None) -> Blob | None:
        return Blob.from_string(reg.objects.blob(entry[1])) if entry else None

    merged, conflict = merge_blobs(blob(b), blob(o), blob(t), encode(path))
    return None if conflict else merged


def merge_commits(reg: Registry, ours: str, theirs: str) -> MergeResult:
    """Merge commit ``theirs`` (the candidate) into ``ours`` (the target's tip)."""
    bases = find_merge_base(reg.repo, [object_id(ours), object_id(theirs)])
    base = hex_of(bases[0]) if bases else None
    t_files = _flat(reg, theirs)
    if base == theirs:
        return MergeResult(base, ours, theirs, _flat(reg, ours), up_to_date=True)
    if base == ours:
        return MergeResult(base, ours, theirs, t_files, fast_forward=True)
    b_files, o_files = _flat(reg, base), _flat(reg, ours)
    kind = reg.config.kind_of
    model_moved = any(
        kind(p) == "models" and b_files.get(p) != t_files.get(p)
        for p in b_files.keys() | t_files.keys()
    )
    files: dict[str, Entry] = {}
    new_blobs: dict[str, bytes] = {}
    conflicts: list[str] = []
    resolved: list[str] = []
    for path in sorted(b_files.keys() | o_files.keys() | t_files.keys()):
        b, o, t = b_files.get(path), o_files.get(path), t_files.get(path)
        result: Entry | None
        if model_moved and kind(path) in _TRAVEL_TOGETHER:
            result = t
            if o != b and o != t:
                resolved.append(path)
        elif o == t or t == b:
            result = o
        elif o == b:
            result = t
        elif kind(path) is not None:
            result = t
            resolved.append(path)
        elif o is None or t is None or (merged := _merge_text(reg, path, b, o, t)) is None:
            conflicts.append(path)
            continue
        else:
            blob = Blob.from_string(merged)
            new_blobs[blob.id.decode("ascii")] = merged
            result = (o[0], blob.id.decode("ascii"))
        if result is not None:
            files[path] = result
    for path in files:  # a file where the other side has a folder
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in files:
                conflicts.append("/".join(parts[:i]))
    return MergeResult(
        base, ours, theirs, files, new_blobs, tuple(sorted(set(conflicts))), tuple(resolved)
    )


def write_merge_tree(reg: Registry, merge: MergeResult) -> str:
    """Store the merged text and the trees of the result; the root tree's id."""
    store = reg.repo.object_store
    for data in merge.new_blobs.values():
        add_object(store, Blob.from_string(data))
    root: _Folder = {}
    for path, entry in merge.files.items():
        *dirs, name = path.split("/")
        node = root
        for part in dirs:
            child = node.setdefault(part, {})
            assert isinstance(child, dict), f"{path}: a file where a folder is (a conflict)"
            node = child
        node[name] = entry

    def write(node: _Folder) -> str:
        tree = Tree()
        for name, value in node.items():
            if isinstance(value, dict):
                tree.add(encode(name), stat.S_IFDIR, object_id(write(value)))
            else:
                mode, sha = value
                tree.add(encode(name), mode, object_id(sha))
        add_object(store, tree)
        return tree.id.decode("ascii")

    return write(root)
