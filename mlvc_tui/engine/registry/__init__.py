"""The registry: a git repository read as branches × artifacts × metrics, without checkout.

`Registry` (``core``) answers every question a face asks, one method each; its base
`RegistryRefs` (``refs``) holds the repository, the refs as read and the settings. The work
is done by the parts: ``settings`` chooses prod and whose `mlvc.toml` counts, ``revisions``
turns a name into a commit, ``listing`` lists branches and tags, ``artifacts`` reads a
tree as artifacts in pieces shared between trees, ``tree_metrics`` parses and caches a
tree's metrics, ``drift`` reads a drift log with its thresholds. The parts are functions
over the registry (reading and filling its underscore attributes) or classes it owns.
"""

from __future__ import annotations

from mlvc_tui.engine.registry.core import Registry
from mlvc_tui.engine.registry.names import WORKTREE

__all__ = ["WORKTREE", "Registry"]
