"""Branches and tags listed: prod and environments first, local and remote rows folded,
tags by commit, the branches that hold a commit. These functions read a `Registry`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlvc_tui.engine.git.remotes import ahead_behind
from mlvc_tui.engine.registry.names import HEADS, REMOTES, TAGS
from mlvc_tui.engine.registry.revisions import commit_of
from mlvc_tui.engine.values import Branch, BranchKind

if TYPE_CHECKING:
    from mlvc_tui.engine.registry.refs import RegistryRefs

__all__ = ["branch_having", "branches", "branches_containing", "tags", "tags_by_commit"]

_ORDER = {BranchKind.PROD: 0, BranchKind.ENVIRONMENT: 1, BranchKind.EXPERIMENT: 2}
_COUNTS_KEPT = 8192  # ahead/behind pairs kept


def branches(reg: RegistryRefs) -> tuple[Branch, ...]:
    """Branches, prod and environments first, then experiments (newest first).

    A local branch and its counterpart on the registry's remote are one row (with
    ``upstream``, ``ahead`` and ``behind``); a branch only the remote has is a row
    marked ``remote_only``. Other remotes' branches are rows named ``<remote>/<name>``.
    """
    prod, envs, head = reg.prod, reg.config.environments, reg.head
    mine = f"{REMOTES}{reg.remote}/"
    out: list[Branch] = []
    for ref, sha in reg._refs.items():
        if ref.startswith(mine):
            continue  # folded into its local row
        upstream: str | None = None
        upstream_id: str | None = None
        ahead = behind = 0
        remote_only = False
        if ref.startswith(HEADS):
            name, remote, short = ref.removeprefix(HEADS), None, ref.removeprefix(HEADS)
            tracking = mine + name
            if ref in reg._virtual:
                remote, ref = reg.remote, tracking
                remote_only, upstream, upstream_id = True, f"{reg.remote}/{name}", sha
            elif (up := reg._refs.get(tracking)) is not None:
                ahead, behind = _ahead_behind(reg, sha, up)
                upstream, upstream_id = f"{reg.remote}/{name}", up
        elif ref.startswith(REMOTES):
            name = ref.removeprefix(REMOTES)
            remote, _, short = name.partition("/")
        else:
            continue
        if name == prod and (remote is None or remote_only):
            kind = BranchKind.PROD
        elif short in envs or short == prod:
            kind = BranchKind.ENVIRONMENT
        else:
            kind = BranchKind.EXPERIMENT
        info = commit_of(reg, sha)
        if info is None:
            continue
        is_head = remote is None and name == head
        out.append(
            Branch(
                name,
                ref,
                kind,
                info,
                remote,
                is_head,
                upstream=upstream,
                ahead=ahead,
                behind=behind,
                remote_only=remote_only,
                upstream_id=upstream_id,
            )
        )

    def sort_key(b: Branch) -> tuple[int, int, int, str]:
        rank = envs.index(b.name) if b.name in envs else len(envs)
        when = -b.commit.time if b.kind is BranchKind.EXPERIMENT else 0
        other = b.remote is not None and not b.remote_only
        return (_ORDER[b.kind], other, when or rank, b.name)

    return tuple(sorted(out, key=sort_key))


def _ahead_behind(reg: RegistryRefs, mine: str, theirs: str) -> tuple[int, int]:
    key = (mine, theirs)
    hit = reg._counts.get(key)
    if hit is None:
        if len(reg._counts) > _COUNTS_KEPT:
            reg._counts.clear()
        hit = reg._counts[key] = ahead_behind(reg.repo, mine, theirs)
    return hit


def tags(reg: RegistryRefs) -> dict[str, str]:
    """Tag name -> the commit id it points at (annotated tags peeled)."""
    out = {}
    for ref, sha in reg._refs.items():
        if ref.startswith(TAGS) and (info := commit_of(reg, sha)) is not None:
            out[ref.removeprefix(TAGS)] = info.id
    return out


def tags_by_commit(reg: RegistryRefs) -> dict[str, tuple[str, ...]]:
    """Commit id -> the tags that point at it, sorted by name."""
    out: dict[str, list[str]] = {}
    for tag, sha in sorted(tags(reg).items()):
        out.setdefault(sha, []).append(tag)
    return {sha: tuple(names) for sha, names in out.items()}


def branch_having(reg: RegistryRefs, sha: str, exclude: str | None, depth: int) -> str | None:
    """A branch (not ``exclude``) whose tip is ``sha``, else one whose last ``depth``
    first-parent commits include it; None when no branch has it."""
    candidates = [b for b in reg.branches() if b.name != exclude]
    tip = next((b.name for b in candidates if b.commit.id == sha), None)
    if tip is not None:
        return tip
    return next(
        (b.name for b in candidates if any(c.id == sha for c in reg.log(b.name, depth))),
        None,
    )


def branches_containing(reg: RegistryRefs, commit: str, depth: int) -> tuple[str, ...]:
    """Branches whose last ``depth`` first-parent commits include ``commit``."""
    out = []
    for branch in reg.branches():
        chain = reg._chains.get((branch.commit.id, depth))
        if chain is None:
            chain = reg._chains[(branch.commit.id, depth)] = frozenset(
                c.id for c in reg.objects.first_parent_chain(branch.commit.id, depth)
            )
        if commit in chain:
            out.append(branch.name)
    return tuple(out)
