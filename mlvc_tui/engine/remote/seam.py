"""What runs between planning a push and sending its ref updates.

A push first decides which refs move (``updates``: ref -> (old id, new id)), then calls
every step registered here, in order, then sends the ref updates. Large-file transfers
(Git LFS uploads of the objects the new commits point at) register here, so that the
server never gets a ref whose files it cannot serve. A step raises an ``MlvcError`` to stop
the push with nothing sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "AFTER_CLONE",
    "BEFORE_REF_UPDATE",
    "BeforeRefUpdate",
    "after_clone",
    "before_ref_update",
]

Progress = Callable[[str], None]
BeforeRefUpdate = Callable[["Registry", str, Mapping[str, tuple[str, str]], Progress], None]

BEFORE_REF_UPDATE: list[BeforeRefUpdate] = []
AFTER_CLONE: list[Callable[[Registry, str, Progress], None]] = []  # (reg, url, progress)


def before_ref_update(
    reg: Registry, url: str, updates: Mapping[str, tuple[str, str]], progress: Progress
) -> None:
    """Run every registered step for a push of ``updates`` to ``url``."""
    for step in BEFORE_REF_UPDATE:
        step(reg, url, updates, progress)


def after_clone(reg: Registry, url: str, progress: Progress) -> None:
    """Run every registered step that makes a fresh clone ready (LFS settings, say)."""
    for step in AFTER_CLONE:
        step(reg, url, progress)
