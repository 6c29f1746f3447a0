"""Names the registry's parts share: the working tree's pseudo-ref and the ref prefixes."""

from __future__ import annotations

__all__ = ["HEADS", "REMOTES", "TAGS", "WORKTREE"]

WORKTREE = ":worktree"  # pseudo-ref: the working tree of the checked-out branch
HEADS, REMOTES, TAGS = "refs/heads/", "refs/remotes/", "refs/tags/"
