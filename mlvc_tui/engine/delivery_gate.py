"""The one place delivery asks "may this branch take live traffic?": the promotion gates.

Until the promotion engine's gates exist (issue 4), a minimal set stands in: the branch
has a model and readable, finite metrics, and its primary metric is not worse than the
target's. Swap :func:`gate_failure` over to the real gates; nothing else needs to change.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from . import metrics as metric_files
from .errors import MlvcError
from .values import Verdict

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["gate_failure"]


def gate_failure(reg: Registry, branch: str, target: str) -> str | None:
    """Why ``branch`` may not serve traffic in place of ``target`` (None: it may)."""
    try:
        from . import gates  # type: ignore[attr-defined]  # issue 4, when it lands
    except ImportError:
        gates = None
    evaluate = getattr(gates, "evaluate", None) if gates is not None else None
    if callable(evaluate):
        try:
            results = evaluate(reg, branch, target)
        except MlvcError as exc:
            return str(exc)
        failed = [r for r in results if not getattr(r, "passed", True)]
        if failed:
            first = failed[0]
            return f"{getattr(first, 'name', 'a gate')}: {getattr(first, 'reason', 'failed')}"
        return None
    return _minimal_gates(reg, branch, target)


def _minimal_gates(reg: Registry, branch: str, target: str) -> str | None:
    if reg.model_path(branch) is None:
        return f"{branch} has no model under models/"
    mine = reg.metrics(branch)
    if mine.errors:
        path, reason = next(iter(mine.errors.items()))
        return f"{branch}: {path} cannot be read ({reason})"
    if not mine.values:
        return f"{branch} has no metrics under metrics/"
    bad = next((k for k, v in mine.values.items() if not math.isfinite(v)), None)
    if bad is not None:
        return f"{branch}: metric {bad} is {mine.values[bad]}"
    primary = reg.primary_metric()
    theirs = reg.metrics(target).get(primary) if primary else None
    ours = mine.get(primary) if primary else None
    if primary and theirs is not None and ours is None:
        return f"{branch} has no {primary} (the primary metric)"
    if primary and theirs is not None and ours is not None:
        cmp = metric_files.compare(primary, theirs, ours, reg.config.higher_is_better(primary))
        if cmp.verdict is Verdict.WORSE:
            return f"{primary} {ours:.4g} is worse than {target}'s {theirs:.4g}"
    return None
