"""The registry: a git repository read as branches × artifacts × metrics, without checkout.

`Registry` (in ``core``) holds the refs, the settings and the caches, and answers every
question a face asks; its parts do the work: ``settings`` chooses prod and whose
`mlvc.toml` counts, ``revisions`` turns a name into a commit, ``listing`` lists branches
and tags, ``artifacts`` reads a tree as artifacts in shared pieces, ``tree_metrics``
reads and caches a tree's metrics, ``drift`` reads a drift log with its thresholds.
"""

from __future__ import annotations

from mlvc_tui.engine.registry.core import Registry
from mlvc_tui.engine.registry.names import WORKTREE

__all__ = ["WORKTREE", "Registry"]
