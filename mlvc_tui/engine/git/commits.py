"""Commit and tag objects, ancestry, ref compare-and-swap and opening a repository.

Small functions over object ids (hex strings) and plain values, so code outside
`engine.git` never touches dulwich's object or ref types.
"""

from __future__ import annotations

from pathlib import Path

from dulwich.errors import NotGitRepository
from dulwich.file import FileLocked
from dulwich.graph import can_fast_forward
from dulwich.objects import Commit, Tag
from dulwich.repo import Repo

from mlvc_tui.engine.git.ids import object_id, ref_name
from mlvc_tui.engine.git.objects import encode
from mlvc_tui.engine.git.objwrite import add_object

__all__ = [
    "NotGitRepository",
    "RefLocked",
    "Repo",
    "TagObject",
    "add_ref_if_new",
    "discover_repo",
    "is_ancestor",
    "make_tag_object",
    "peel",
    "read_ref",
    "set_ref_if_equals",
    "tagger_of",
    "write_commit_object",
    "write_tag_object",
]

RefLocked = FileLocked  # another process holds the ref (or object) file's lock
TagObject = Tag


def discover_repo(path: str | Path) -> Repo:
    """The repository holding ``path``; NotGitRepository when there is none."""
    return Repo.discover(str(path))


def write_commit_object(
    repo: Repo,
    tree: str,
    parents: list[str],
    who: str,
    when: int,
    tz_offset: int,
    message: str,
) -> str:
    """Store a commit (author = committer = ``who``); its id."""
    commit = Commit()
    commit.tree = object_id(tree)
    commit.parents = [object_id(p) for p in parents]
    commit.author = commit.committer = encode(who)
    commit.author_time = commit.commit_time = when
    commit.author_timezone = commit.commit_timezone = tz_offset
    commit.message = encode(message.rstrip("\n") + "\n")
    add_object(repo.object_store, commit)
    return commit.id.decode("ascii")


def make_tag_object(
    name: str, commit: str, tagger: str, when: int, tz_offset: int, message: str
) -> Tag:
    """An annotated tag of ``commit`` (not yet stored; ``.id`` is its id)."""
    tag = Tag()
    tag.name = encode(name)
    tag.object = (Commit, object_id(commit))
    tag.tagger = encode(tagger)
    tag.tag_time, tag.tag_timezone = when, tz_offset
    tag.message = encode(message.rstrip("\n") + "\n")
    return tag


def write_tag_object(repo: Repo, tag: Tag) -> str:
    """Store a tag object; its id."""
    add_object(repo.object_store, tag)
    return tag.id.decode("ascii")


def read_ref(repo: Repo, ref: str) -> str | None:
    """The id ``ref`` points at (None when there is no such ref)."""
    sha = repo.refs.read_ref(ref_name(ref))
    return sha.decode("ascii") if sha is not None else None


def add_ref_if_new(repo: Repo, ref: str, target: str, locked_raises: bool = False) -> bool:
    """Create ``ref`` at ``target`` unless it exists; False if it does (or is locked,
    unless ``locked_raises``: then RefLocked)."""
    try:
        return bool(repo.refs.add_if_new(ref_name(ref), object_id(target)))
    except FileLocked:
        if locked_raises:
            raise
        return False


def set_ref_if_equals(repo: Repo, ref: str, old: str | None, new: str) -> bool:
    """Move ``ref`` from ``old`` (None: create it) to ``new``; False if it moved or is locked."""
    try:
        if old is None:
            return bool(repo.refs.add_if_new(ref_name(ref), object_id(new)))
        return bool(repo.refs.set_if_equals(ref_name(ref), object_id(old), object_id(new)))
    except FileLocked:
        return False


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    """Whether ``descendant`` contains ``ancestor`` (moving to it would fast-forward)."""
    return bool(can_fast_forward(repo, object_id(ancestor), object_id(descendant)))


def peel(repo: Repo, sha: str) -> tuple[str, str]:
    """(id, type name) of what ``sha`` names once annotated tags are followed."""
    obj = repo.object_store[object_id(sha)]
    while isinstance(obj, Tag):
        obj = repo.object_store[obj.object[1]]
    return obj.id.decode("ascii"), obj.type_name.decode("ascii")


def tagger_of(repo: Repo, ref: str, sha: str | None = None) -> tuple[str, int] | None:
    """(tagger, time) of an annotated tag ref (or of the tag object ``sha`` it names, when
    known); None for a lightweight one."""
    obj = repo.object_store[object_id(sha) if sha else repo.refs[ref_name(ref)]]
    if isinstance(obj, Tag):
        return obj.tagger.decode("utf-8", "replace"), obj.tag_time
    return None
