"""Promotion gates: each says pass or fail, with a one-line reason either way.

Configured in `[gates]` of the target branch's mlvc.toml; a sub-table named after the target
(`[gates.prod]`) overrides the shared keys for that target. Defaults: the candidate has a
model and metrics, no metric is NaN or infinite, the primary metric is not worse than the
target's, and no `slices.` metric drops by more than 0.05. Approvals, the stage order and
the check command apply only when configured (docs/promotion.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.metrics import compare
from mlvc_tui.engine.promotion.records import GateResult
from mlvc_tui.engine.values import Metrics, Verdict

if TYPE_CHECKING:
    from mlvc_tui.engine.config import RegistryConfig
    from mlvc_tui.engine.registry import Registry

__all__ = ["GateResult", "GateSettings", "evaluate", "metric_gates"]


@dataclass(frozen=True, slots=True)
class GateSettings:
    """The gates of one target, every default filled in."""

    min_delta: float = 0.0
    slice_tolerance: float = 0.05
    approvals: int = 0
    require_stage: str | None = None
    check: str | None = None
    check_timeout: float = 300.0

    @classmethod
    def from_table(cls, table: Mapping[str, Any], target: str) -> GateSettings:
        """Read `[gates]` (and `[gates.<target>]`); BadInput for a wrong type."""
        merged = {k: v for k, v in table.items() if not isinstance(v, dict)}
        own = table.get(target)
        if isinstance(own, dict):
            merged.update(own)
        out: dict[str, Any] = {}
        for key, kinds in (
            ("min_delta", (int, float)),
            ("slice_tolerance", (int, float)),
            ("approvals", (int,)),
            ("require_stage", (str,)),
            ("check", (str,)),
            ("check_timeout", (int, float)),
        ):
            if key not in merged:
                continue
            value = merged[key]
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise BadInput(
                    f"mlvc.toml: gates.{key} must be "
                    f"{'a string' if kinds == (str,) else 'a number'}"
                )
            out[key] = float(value) if kinds[0] is int and len(kinds) == 2 else value
        if out.get("approvals", 0) < 0 or out.get("check_timeout", 1) <= 0:
            raise BadInput("mlvc.toml: gates.approvals must be >= 0 and check_timeout > 0")
        unknown = sorted(set(merged) - set(out) - set(cls.__dataclass_fields__))
        if unknown:
            raise BadInput(f"mlvc.toml: unknown gate {unknown[0]!r} (see docs/promotion.md)")
        return cls(**out)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def metric_gates(
    settings: GateSettings,
    config: RegistryConfig,
    primary: str | None,
    has_model: bool,
    candidate: Metrics,
    target: Metrics,
    target_name: str,
) -> list[GateResult]:
    """The gates on the promoted files: model and metrics, finite, primary, slices."""
    out = []
    if not has_model:
        out.append(
            GateResult(
                "artifacts", False, "no model: expected models/model.* or one file under models/"
            )
        )
    elif candidate.errors:
        path, why = next(iter(candidate.errors.items()))
        out.append(GateResult("artifacts", False, f"{path} unreadable: {why}"))
    elif not candidate.values:
        out.append(GateResult("artifacts", False, "no metrics under metrics/"))
    elif lost := _missing(target, candidate, slices=False):
        out.append(GateResult("artifacts", False, f"the candidate lacks {_names(lost)}"))
    else:
        out.append(GateResult("artifacts", True, f"model and {len(candidate.values)} metrics"))
    bad = sorted(k for k, v in candidate.values.items() if not math.isfinite(v))
    out.append(
        GateResult(
            "finite",
            not bad,
            f"{bad[0]} is {candidate.values[bad[0]]}"
            + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
            if bad
            else "every metric is a finite number",
        )
    )
    out.append(_primary_gate(settings, config, primary, candidate, target, target_name))
    out.append(_slice_gate(settings, config, candidate, target))
    return out


def _primary_gate(
    settings: GateSettings,
    config: RegistryConfig,
    primary: str | None,
    candidate: Metrics,
    target: Metrics,
    target_name: str,
) -> GateResult:
    if primary is None:
        return GateResult("primary", False, "no primary metric: set metrics.primary")
    a, b = target.get(primary), candidate.get(primary)
    if b is None:
        return GateResult("primary", False, f"the candidate has no {primary}")
    if a is None:
        return GateResult("primary", True, f"{target_name} has no {primary} yet: {_fmt(b)}")
    d = compare(primary, a, b, config.higher_is_better(primary))
    if d.verdict is Verdict.INVALID or d.delta is None:  # with both sides set, no delta = INVALID
        return GateResult("primary", False, f"{primary} is not a finite number")
    gain = d.delta if d.higher_is_better else -d.delta
    need = settings.min_delta
    text = f"{primary} {_fmt(a)} -> {_fmt(b)} ({gain:+.4g}"
    if gain + 1e-12 < need:
        want = f"needs at least {need:+.4g}" if need else "worse than " + target_name
        return GateResult("primary", False, f"{text}, {want})")
    return GateResult("primary", True, f"{text}{f', min {need:+.4g}' if need else ''})")


def _is_slice(key: str) -> bool:
    return key.startswith("slices.") or ".slices." in key


def _missing(target: Metrics, candidate: Metrics, *, slices: bool) -> list[str]:
    """Metrics (or slice metrics) the target has and the candidate does not."""
    return [k for k in target.values if _is_slice(k) == slices and k not in candidate.values]


def _names(keys: list[str], limit: int = 3) -> str:
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return f"{len(keys)} metric{'s' if len(keys) > 1 else ''} the target has: " + (
        ", ".join(keys[:limit]) + more
    )


def _slice_gate(
    settings: GateSettings, config: RegistryConfig, candidate: Metrics, target: Metrics
) -> GateResult:
    if lost := _missing(target, candidate, slices=True):
        return GateResult("slices", False, f"the candidate lacks {_names(lost)}")
    keys = [k for k in target.values if _is_slice(k)]
    if not keys:
        return GateResult("slices", True, "the target has no per-slice metrics")
    worst: tuple[float, str] | None = None
    for key in keys:
        d = compare(key, target.values[key], candidate.values[key], config.higher_is_better(key))
        if d.verdict is Verdict.INVALID:
            if not math.isfinite(candidate.values[key]):
                return GateResult("slices", False, f"{key} is {candidate.values[key]}")
            continue  # the target's value is not a number: nothing to drop from
        if d.delta is None:
            continue
        drop = -d.delta if d.higher_is_better else d.delta
        if worst is None or drop > worst[0]:
            worst = (drop, key)
    tol = settings.slice_tolerance
    if worst is None or worst[0] <= tol + 1e-12:
        most = f", largest drop {worst[0]:.4g} ({worst[1]})" if worst and worst[0] > 0 else ""
        return GateResult("slices", True, f"{len(keys)} slice metrics within {tol:g}{most}")
    return GateResult("slices", False, f"{worst[1]} drops {worst[0]:.4g} (tolerance {tol:g})")


def approval_gate(settings: GateSettings, approvers: Sequence[str], commit: str) -> GateResult:
    """N distinct approvers of the candidate commit."""
    need, have = settings.approvals, len(approvers)
    who = f": {', '.join(re.sub(r' <[^<>]*>', '', a) for a in approvers)}" if approvers else ""
    if have >= need:
        return GateResult("approvals", True, f"{have} of {need} approvals{who}")
    return GateResult(
        "approvals", False, f"{have} of {need} approvals of {commit[:8]}{who} (mlvc approve BRANCH)"
    )


def evaluate(
    reg: Registry, branch: str, target: str | None = None, *, run_changed: bool = False
) -> tuple[GateResult, ...]:
    """Every gate of promoting ``branch`` into ``target`` (default: prod), the check included
    (check code the candidate changed runs only with ``run_changed``, sandboxed)."""
    return reg.promotion_gates(branch, target, run_changed=run_changed)
