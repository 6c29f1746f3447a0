"""A name as a commit: branches, remote branches, tags, HEAD, abbreviated ids, ``~N``/``^N``.

Names mean what they mean to git (gitrevisions(7)); an annotated tag is peeled to the
commit it names. These functions read a `Registry`'s refs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mlvc_tui.engine.errors import BadInput, RefNotFound
from mlvc_tui.engine.git.commits import peel
from mlvc_tui.engine.git.refs import objects_named, peeled_tag
from mlvc_tui.engine.registry.names import HEADS, REMOTES, TAGS, WORKTREE
from mlvc_tui.engine.values import CommitInfo

if TYPE_CHECKING:
    from mlvc_tui.engine.registry.refs import RegistryRefs

__all__ = ["commit_of", "resolve"]

_HEX = frozenset("0123456789abcdef")
_VERSION_TAG = re.compile(r".+@v\d+\.\d+\.\d+")  # GTO's <model>@vX.Y.Z
_ANCESTRY = re.compile(r"(.+?)((?:[~^]\d*)*)")
_STEP = re.compile(r"([~^])(\d*)")


def commit_of(reg: RegistryRefs, sha: str) -> CommitInfo | None:
    """The commit a ref points at, peeling tags; None for refs to non-commits."""
    peeled = reg._peeled.get(sha)
    if peeled is None and (packed := peeled_tag(sha)) is not None:
        try:  # packed-refs named the target: read it only if it is new to us
            return reg.objects.commit(packed, keep=True)[0]
        except KeyError:  # not a commit (a tag of a tree or blob): the slow way
            pass
    if peeled is None:
        try:  # most refs name a commit: one read (or none: tips are kept on disk)
            return reg.objects.commit(sha, keep=True)[0]
        except KeyError:
            pass
        target, kind = peel(reg.repo, sha)
        peeled = reg._peeled[sha] = target if kind == "commit" else ""
    return reg.objects.commit(peeled, keep=True)[0] if peeled else None


def resolve(reg: RegistryRefs, ref: str) -> str:
    """A branch, remote branch, tag, HEAD or (abbreviated) commit id, as a commit id.

    Git's ``~N`` and ``^N`` suffixes walk to ancestors (``prod~2``, ``HEAD^2``).
    """
    if ref in ("", WORKTREE):
        raise RefNotFound(f"{ref!r} is not a ref")
    walk = _ANCESTRY.fullmatch(ref)
    if walk and walk.group(2):  # git forbids ~ and ^ in ref names
        return _walk(reg, ref, resolve(reg, walk.group(1)), walk.group(2))
    candidates = _ref_candidates(reg, ref)
    if ref == "HEAD":
        candidates = [reg._head_ref] if reg._head_ref else []
        if reg.detached:
            return reg.detached
    for name in candidates:
        sha = reg._refs.get(name)
        if sha is not None and (info := commit_of(reg, sha)) is not None:
            return info.id
    lowered = ref.lower()
    if 4 <= len(ref) <= 40 and set(lowered) <= _HEX:
        commits = [m for m in objects_named(reg.repo, lowered) if commit_of(reg, m) is not None]
        if len(commits) == 1:
            return commits[0]
        if len(commits) > 1:
            raise RefNotFound(f"{ref!r} is ambiguous: it abbreviates {len(commits)} commits")
    raise RefNotFound(f"no branch, tag or commit named {ref!r}")


def _walk(reg: RegistryRefs, ref: str, sha: str, steps: str) -> str:
    """From ``sha``, the ancestor ``steps`` (``~2^1``...) lead to."""
    for step, count in _STEP.findall(steps):
        n = int(count) if count else 1
        info = reg.objects.commit(sha)[0]
        if step == "^":
            if n == 0:
                continue
            if len(info.parents) < n:
                raise RefNotFound(f"{ref!r}: {info.short_id} has no parent {n}")
            sha = info.parents[n - 1]
            continue
        for _ in range(n):
            info = reg.objects.commit(sha)[0]
            if not info.parents:
                raise RefNotFound(f"{ref!r} goes back past the first commit")
            sha = info.parents[0]
    return sha


def _ref_candidates(reg: RegistryRefs, ref: str) -> list[str]:
    """The refs a short name may mean, in git's order (gitrevisions(7)): the full name,
    ``refs/<name>``, then tags, branches and remote branches. A name that is both a
    tag and a branch means the tag when it is a version tag (``model@v1.2.0``), as in
    git; any other such name is refused, naming both."""
    full = [n for n in (ref, "refs/" + ref) if n.startswith("refs/") and n in reg._refs]
    if full:
        return full[:1]
    hits = [n for n in (TAGS + ref, HEADS + ref, REMOTES + ref) if n in reg._refs]
    if len(hits) > 1 and not (hits[0].startswith(TAGS) and _VERSION_TAG.fullmatch(ref)):
        raise BadInput(
            f"{ref!r} is ambiguous: it names both {hits[0]} and {hits[1]}; "
            f"write the full name (e.g. {hits[1]})"
        )
    return hits[:1]
