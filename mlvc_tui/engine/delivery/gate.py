"""The one place delivery asks "may this branch take live traffic?": the promotion gates.

A canary candidate or a blue/green standby must pass every gate that promoting it into the
branch it stands beside would have to pass (:func:`mlvc_tui.engine.promotion.gates.evaluate`: model
and metrics, finite values, primary metric, slices, approvals, stage order, the check).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlvc_tui.engine.errors import MlvcError
from mlvc_tui.engine.promotion.gates import evaluate

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["gate_failure"]


def gate_failure(
    reg: Registry, branch: str, target: str, *, run_changed: bool = False
) -> str | None:
    """Why ``branch`` may not serve traffic in place of ``target`` (None: it may)."""
    try:
        results = evaluate(reg, branch, target, run_changed=run_changed)
    except MlvcError as exc:
        return str(exc)
    failed = [r for r in results if not r.passed]
    if not failed:
        return None
    more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"{failed[0].name}: {failed[0].reason}{more}"
