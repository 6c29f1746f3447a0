"""Reading git objects by id, each at most once per process (ids never change meaning).

Registries keep most subtrees in common between branches, so flattening a tree is cached
per subtree id: re-reading a registry where one branch moved costs about that branch.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

from dulwich.object_store import BaseObjectStore
from dulwich.objects import Commit, hex_to_sha, parse_time_entry, parse_tree

from mlvc_tui.engine.errors import UnsafePath
from mlvc_tui.engine.git.blobio import loose_size
from mlvc_tui.engine.git.diskcache import CommitEntry, ObjectCache
from mlvc_tui.engine.git.ids import object_id
from mlvc_tui.engine.git.packread import PackReader
from mlvc_tui.engine.git.paths import refusal, unsafe_name
from mlvc_tui.engine.values import CommitInfo, Storage

__all__ = ["BlobInfo", "ObjectReader", "TreeEntry", "decode", "encode"]

LFS_PREFIX = b"version https://git-lfs.github.com/spec/v1"
LFS_MAX_POINTER = 1024
GITLINK = 0o160000
KEEP_TREE_ENTRIES = 300_000  # tree entries kept in memory (and for the disk cache)
KEEP_NAMES = 100_000  # distinct entry names whose str is shared
EARLY_TREES = 32  # trees read from the packs before the disk cache's are decoded
KEEP_MESSAGE = 2048  # longest commit message kept in the disk cache


def decode(raw: bytes) -> str:
    """Bytes from git (paths, names) to str, keeping undecodable bytes round-trippable."""
    return raw.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    """The inverse of `decode`."""
    return text.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """A file in a flattened tree."""

    mode: int
    sha: str

    @property
    def is_gitlink(self) -> bool:
        return self.mode == GITLINK


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What a blob is, without keeping its bytes."""

    size: int
    storage: Storage
    id: str  # blob id, or the LFS oid for an LFS pointer


def _parse_lfs_pointer(data: bytes) -> tuple[str, int] | None:
    """(oid, size) of an LFS pointer: the one parser, `lfs.parse_pointer`, as a pair."""
    from mlvc_tui.engine.git.lfs import parse_pointer

    pointer = parse_pointer(data)
    return (pointer.oid, pointer.size) if pointer is not None else None


def _parse_commit(sha: str, raw: bytes) -> tuple[CommitInfo, str] | None:
    """A plain commit's info and tree id, read from its bytes as dulwich would; None for
    anything unusual (no message, no author, an odd date), which dulwich then reads."""
    head, sep, message = raw.partition(b"\n\n")
    if not sep or not head.startswith(b"tree "):
        return None
    tree, author = b"", None
    parents = []
    for line in head.split(b"\n"):
        if line.startswith(b"parent "):
            parents.append(line[7:].decode("ascii"))
        elif line.startswith(b"tree "):  # a repeated header: the last wins, as in dulwich
            tree = line[5:]
        elif line.startswith(b"author "):
            author = line[7:]
    if author is None or len(tree) != 40:
        return None
    who, when, (offset, _) = parse_time_entry(author)
    if when is None or offset is None:
        return None
    info = CommitInfo(
        id=sha,
        author=decode(who),
        time=when,
        tz_offset=offset,
        message=decode(message).rstrip("\n"),
        parents=tuple(parents),
    )
    return info, tree.decode("ascii")


def _from_entry(sha: str, entry: CommitEntry | None) -> tuple[CommitInfo, str] | None:
    """A commit from the disk cache, if the entry has the shape this version writes."""
    if not (isinstance(entry, tuple) and len(entry) == 6):
        return None
    author, when, offset, message, parents, tree = entry
    if not (
        isinstance(author, str)
        and type(when) is int
        and type(offset) is int
        and isinstance(message, str)
        and isinstance(parents, tuple)
        and all(isinstance(p, str) for p in parents)
        and isinstance(tree, str)
    ):
        return None
    return CommitInfo(sha, author, when, offset, message, parents), tree


class ObjectReader:
    """Cached reads of commits, trees and blobs from one object store."""

    def __init__(self, store: BaseObjectStore, cache: ObjectCache | None = None) -> None:
        self.store = store
        self.cache = cache or ObjectCache(None)
        self._commits: dict[str, tuple[CommitInfo, str]] = {}
        self._trees: dict[str, tuple[tuple[str, int, str], ...]] = {}  # the cache's, once used
        self._trees_decoded = False
        self._tree_entries = 0
        self._sizes: dict[str, int] | None = None  # the disk cache's, decoded on first use
        self._flat: dict[str, dict[str, TreeEntry]] = {}
        self._flat_entries = 0
        self._named: dict[str, dict[str, tuple[int, str]]] = {}
        self._blobs: dict[tuple[str, bool], BlobInfo] = {}
        self._packs: PackReader | None = None
        self._checked: set[str] = set()
        self._names: dict[bytes, str] = {}

    def save(self) -> None:
        """Save the disk cache when something is new (with the trees read before it was
        decoded: the file is being written anyway)."""
        if self.cache.changed() and not self._trees_decoded and self._trees:
            self._tree_table()
        self.cache.save()

    def forget_packs(self) -> None:
        """Look for new packs on the next read (after a fetch, a gc or a push)."""
        self._packs = None

    def _pack_reader(self) -> PackReader | None:
        if self._packs is None:
            try:
                self._packs = PackReader(list(self.store.packs))
            except Exception:  # not a pack-based store
                return None
        return self._packs

    def raw(self, sha: str) -> bytes:
        """An object's content, from the fast pack path where it can, else from dulwich."""
        return self.typed_raw(sha)[1]

    def typed_raw(self, sha: str) -> tuple[int, bytes]:
        """An object's type number and content (KeyError when the store lacks it)."""
        reader = self._pack_reader()
        if reader is not None:
            try:
                found = reader.raw(hex_to_sha(object_id(sha)))
            except Exception:  # private pack layout changed: use the public path
                found = None
            if found is not None:
                return found
        return self.store.get_raw(object_id(sha))

    def commit(self, sha: str, keep: bool = False) -> tuple[CommitInfo, str]:
        """The commit's info and its tree id; ``keep`` remembers it in the disk cache too
        (for ref tips: listing branches then reads no commit object)."""
        hit = self._commits.get(sha)
        if hit is None and keep:
            hit = _from_entry(sha, self.cache.commits.get(sha))
            if hit is not None:
                self._commits[sha] = hit
        if hit is None:
            hit = self._read_commit(sha)
            if keep:
                self._keep_commit(hit)
        return hit

    def _read_commit(self, sha: str) -> tuple[CommitInfo, str]:
        kind, raw = self.typed_raw(sha)
        if kind != Commit.type_num:
            raise KeyError(sha)
        hit = _parse_commit(sha, raw)
        if hit is not None:
            self._commits[sha] = hit
            return hit
        obj = Commit.from_raw_string(kind, raw, object_id(sha))
        if not isinstance(obj, Commit):
            raise KeyError(sha)
        info = CommitInfo(
            id=sha,
            author=decode(obj.author),
            time=obj.author_time,
            tz_offset=obj.author_timezone,
            message=decode(obj.message).rstrip("\n"),
            parents=tuple(p.decode("ascii") for p in obj.parents),
        )
        hit = self._commits[sha] = (info, obj.tree.decode("ascii"))
        return hit

    def _keep_commit(self, hit: tuple[CommitInfo, str]) -> None:
        info, tree = hit
        if len(info.message) <= KEEP_MESSAGE:  # a long one is read again instead
            entry = (info.author, info.time, info.tz_offset, info.message, info.parents, tree)
            self.cache.add_commit(info.id, entry)

    def tree(self, sha: str) -> tuple[tuple[str, int, str], ...]:
        """The entries (name, mode, id) of one tree object."""
        trees = self._trees
        hit = trees.get(sha)
        if hit is None and not self._trees_decoded and len(trees) >= EARLY_TREES:
            trees = self._tree_table()
            hit = trees.get(sha)
        if hit is None:
            raw = self.raw(sha)
            names = self._names  # one str per name: trees repeat them (the disk cache too)
            if len(names) > KEEP_NAMES:
                names.clear()
            hit = tuple(
                (names.get(name) or names.setdefault(name, decode(name)), mode, hexsha.decode())
                for name, mode, hexsha in parse_tree(raw, 20)
            )
            if self._tree_entries < KEEP_TREE_ENTRIES:  # beyond: re-read, memory stays flat
                trees[sha] = hit
                self._tree_entries += len(hit)
        return hit

    def _tree_table(self) -> dict[str, tuple[tuple[str, int, str], ...]]:
        """The disk cache's trees (decoded once this process has read `EARLY_TREES` trees
        itself: a command that reads a few trees does not pay for decoding them all)."""
        early, self._trees = self._trees, self.cache.trees
        self._trees.update(early)
        self._trees_decoded = True
        self._tree_entries = sum(len(t) for t in self._trees.values())
        return self._trees

    def files(self, tree_sha: str) -> dict[str, TreeEntry]:
        """Every file (and gitlink) below a tree, by path relative to it."""
        hit = self._flat.get(tree_sha)
        if hit is None:
            hit = {}
            for name, mode, sha in self.tree(tree_sha):
                if stat.S_ISDIR(mode):
                    for path, entry in self.files(sha).items():
                        hit[f"{name}/{path}"] = entry
                else:
                    hit[name] = TreeEntry(mode, sha)
            if self._flat_entries < KEEP_TREE_ENTRIES:  # beyond: built again, memory flat
                self._flat[tree_sha] = hit
                self._flat_entries += len(hit)
        return hit

    def checked_files(self, tree_sha: str, where: str = "") -> dict[str, TreeEntry]:
        """`files`, after checking every entry name below the tree the way git's
        ``verify_path`` does (and that no folder names one entry twice); UnsafePath else."""
        if tree_sha not in self._checked:
            self._check_tree(tree_sha, "", where)
        return self.files(tree_sha)

    def _check_tree(self, tree_sha: str, prefix: str, where: str) -> None:
        if tree_sha in self._checked:
            return
        seen: set[str] = set()
        for name, mode, sha in self.tree(tree_sha):
            why = unsafe_name(name, mode) or ("a name used twice" if name in seen else None)
            if why is not None:
                raise UnsafePath(refusal(prefix + name, why, where))
            seen.add(name)
            if stat.S_ISDIR(mode):
                self._check_tree(sha, f"{prefix}{name}/", where)
        self._checked.add(tree_sha)

    def lookup(self, tree_sha: str, path: str) -> tuple[int, str] | None:
        """(mode, id) of a path below a tree, or None."""
        mode, sha = stat.S_IFDIR, tree_sha
        for part in path.strip("/").split("/"):
            if not stat.S_ISDIR(mode):
                return None
            named = self._named.get(sha)
            if named is None:
                named = self._named[sha] = {n: (m, s) for n, m, s in self.tree(sha)}
            entry = named.get(part)
            if entry is None:
                return None
            mode, sha = entry
        return mode, sha

    def blob(self, sha: str) -> bytes:
        """A blob's bytes (the pointer text for an LFS file)."""
        return self.raw(sha)

    def blob_info(self, sha: str, maybe_lfs: bool = False) -> BlobInfo:
        """Size and storage of a blob; an LFS pointer reports the real file's oid and size.

        Only blobs at paths marked ``filter=lfs`` (``maybe_lfs``) are read for a pointer, as
        git does; the others' sizes come from their pack headers, without inflating them.
        """
        key = (sha, maybe_lfs)
        hit = self._blobs.get(key)
        if hit is None:
            size = self.size(sha)
            pointer = None
            if maybe_lfs and size < LFS_MAX_POINTER:
                pointer = _parse_lfs_pointer(self.blob(sha))
            if pointer is not None:
                hit = BlobInfo(size=pointer[1], storage=Storage.LFS, id=pointer[0])
            else:
                hit = BlobInfo(size=size, storage=Storage.BLOB, id=sha)
            self._blobs[key] = hit
        return hit

    def size(self, sha: str) -> int:
        """An object's size from its pack entry (a delta's header holds the result's size).

        dulwich has no public call for this, so any surprise falls back to a full read.
        """
        if self._sizes is None:
            self._sizes = self.cache.sizes
        hit = self._sizes.get(sha)
        if hit is None:
            size = None
            reader = self._pack_reader()
            if reader is not None:
                try:
                    size = reader.size(hex_to_sha(object_id(sha)))
                except Exception:  # private pack layout changed: read it whole
                    size = None
            if size is None and hasattr(self.store, "path"):  # a loose object: its header
                size = loose_size(self.store.path, sha)
            hit = self._sizes[sha] = size if size is not None else len(self.blob(sha))
        return hit

    def first_parent_chain(self, sha: str, limit: int) -> list[CommitInfo]:
        """The commit and its first parents, newest first, at most ``limit``."""
        chain: list[CommitInfo] = []
        current: str | None = sha
        while current is not None and len(chain) < limit:
            info, _ = self.commit(current)
            chain.append(info)
            current = info.parents[0] if info.parents else None
        return chain
