"""What a mount shows: one commit's tree (or a folder of it), path by path, read lazily.

A :class:`TreeView` is fixed to one commit; following a branch swaps in a new view, so a
reader holding the old one keeps seeing the old tree. Entries git would refuse to check
out (``..``, ``.git`` and its aliases, names with ``/``, ``\\`` or NUL, a symlink standing
in for ``.gitmodules``) are not shown: git's ``verify_path`` rules, from engine/git/paths.
"""

from __future__ import annotations

import stat as st
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlvc_tui.engine.errors import BadInput, RefNotFound
from mlvc_tui.engine.git.files import pointer_at
from mlvc_tui.engine.git.objects import GITLINK
from mlvc_tui.engine.git.paths import unsafe_name

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["MountRef", "Node", "TreeView", "resolve_mount_ref", "safe_name"]

SYMLINK = 0o120000


def safe_name(name: str, mode: int = 0o100644) -> bool:
    """Whether git would check out a tree entry of this name and mode: git's own
    ``verify_path`` rules (:func:`mlvc_tui.engine.git.paths.unsafe_name`)."""
    return unsafe_name(name, mode) is None


@dataclass(frozen=True, slots=True)
class MountRef:
    """What ``mlvc mount REF`` names: a commit, and the branch to follow (if it is one)."""

    text: str
    commit: str
    branch: str | None  # the local or remote-tracking branch, when REF names one


def _model_on(reg: Registry, name: str, branch: str) -> bool:
    tree = reg.tree_of(branch)
    hit = reg.objects.lookup(tree, "models")
    if hit is None or not st.S_ISDIR(hit[0]):
        return False
    return any(n.split(".", 1)[0] == name for n, _, _ in reg.objects.tree(hit[1]))


def resolve_mount_ref(reg: Registry, ref: str) -> MountRef:
    """A branch, tag, version (``model@v1.2.0``), commit, ``models:/<name>@<env>`` (the
    model on that environment's branch) or ``models:/<name>/<version>`` (its version tag).
    """
    if ref.startswith("models:/"):
        rest = ref.removeprefix("models:/")
        if "@" in rest:
            name, _, env = rest.partition("@")
            if not name or reg.branch_tip(env) is None:
                raise RefNotFound(f"{ref!r}: no environment branch named {env!r}")
            if not _model_on(reg, name, env):
                raise RefNotFound(f"{ref!r}: there is no model {name!r} on {env}")
            return MountRef(ref, reg.resolve(env), env)
        name, _, version = rest.partition("/")
        if not name or not version:
            raise BadInput(f"{ref!r}: expected models:/<name>@<env> or models:/<name>/<version>")
        tag = f"{name}@{version if version.startswith('v') else 'v' + version}"
        if tag not in reg.tags():
            raise RefNotFound(f"{ref!r}: no version tag {tag}")
        return MountRef(ref, reg.resolve(tag), None)
    commit = reg.resolve(ref)
    branch = ref if any(b.name == ref for b in reg.branches()) else None
    return MountRef(ref, commit, branch)


@dataclass(frozen=True, slots=True)
class Node:
    """One path of the mount: a folder, file, symlink or submodule (an empty folder)."""

    kind: str  # "dir", "file", "link" or "submodule"
    mode: int  # git's mode
    id: str  # tree, blob or pinned commit id
    path: str  # from the repository's root, for .gitattributes and messages


class TreeView:
    """One commit's tree below ``prefix``; every registry read is made under ``lock``.

    ``ref`` is the branch the commit was found on (None for a tag or a commit): its remote's
    LFS server is where a missing LFS object is fetched from.
    """

    def __init__(
        self,
        reg: Registry,
        lock: threading.Lock,
        commit: str,
        prefix: str = "",
        ref: str | None = None,
    ) -> None:
        self.reg, self.lock, self.commit, self.ref = reg, lock, commit, ref
        self.prefix = prefix.strip("/")
        with lock:
            info, self.root_tree = reg.objects.commit(commit)
        self.time = info.time
        top = self.root_tree
        for part in self.prefix.split("/") if self.prefix else ():
            if not safe_name(part, st.S_IFDIR):
                raise BadInput(f"--path {prefix!r}: {part!r} is not a name git would check out")
            entry = self._entries(top).get(part)
            if entry is None or not st.S_ISDIR(entry[0]):
                raise BadInput(f"{self.prefix} is not a folder on {commit[:12]}")
            top = entry[1]
        self.top = top
        self._sizes: dict[tuple[str, str], int] = {}

    def _entries(self, tree: str) -> dict[str, tuple[int, str]]:
        """A tree's entries git would check out, by name (read under the lock)."""
        with self.lock:
            return {n: (m, s) for n, m, s in self.reg.objects.tree(tree) if safe_name(n, m)}

    def _full(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix and path else (self.prefix or path)

    @staticmethod
    def _kind(mode: int) -> str:
        if st.S_ISDIR(mode):
            return "dir"
        if mode == GITLINK:
            return "submodule"
        return "link" if mode == SYMLINK else "file"

    def lookup(self, path: str) -> Node | None:
        """The node at ``path`` (relative to the mount's root), None when not shown."""
        clean = path.strip("/")
        mode, sha = st.S_IFDIR, self.top
        for part in clean.split("/") if clean else ():
            if not st.S_ISDIR(mode):
                return None
            entry = self._entries(sha).get(part)
            if entry is None:
                return None
            mode, sha = entry
        return Node(self._kind(mode), mode, sha, self._full(clean))

    def children(self, node: Node) -> list[tuple[str, Node]]:
        """A folder's entries (a submodule's: none)."""
        if node.kind != "dir":
            return []
        base = f"{node.path}/" if node.path else ""
        return [
            (name, Node(self._kind(mode), mode, sha, base + name))
            for name, (mode, sha) in sorted(self._entries(node.id).items())
        ]

    def size(self, node: Node) -> int:
        """A file's size as read (an LFS file's real size), a link's target length."""
        if node.kind in ("dir", "submodule"):
            return 0
        key = (node.id, node.path)
        hit = self._sizes.get(key)
        if hit is None:
            from mlvc_tui.engine.git.blobio import blob_size

            with self.lock:
                hit = blob_size(self.reg, node.id)
                if node.kind == "file":
                    pointer = pointer_at(self.reg, self.root_tree, node.path, node.id, hit)
                    hit = pointer.size if pointer is not None else hit
            self._sizes[key] = hit
        return hit

    def link_target(self, node: Node) -> bytes:
        """A symlink's target, as git stores it."""
        with self.lock:
            return self.reg.objects.blob(node.id)
