"""Canary and blue/green rollouts: each step one commit to `delivery.toml` on prod.

A canary sends a percentage of units to a candidate branch (which must pass the promotion
gates) and walks up its step plan; aborting sends everyone back to the baseline. Blue/green
keeps a (gated) standby next to the live branch and flips them, and back, in one commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from mlvc_tui.engine.delivery.gate import gate_failure
from mlvc_tui.engine.delivery.routing import counts_from_weights, cumulative
from mlvc_tui.engine.delivery.spec import Delivery, Mode, Variant, check_steps, live
from mlvc_tui.engine.delivery.traffic import (
    DEFAULT_STEPS,
    DeliveryChange,
    apply,
    candidate_of,
    new_test_id,
    refuse_if_busy,
    require_branch,
    reweigh,
    stamp,
)
from mlvc_tui.engine.errors import BadInput, Refused

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["canary", "canary_abort", "canary_step", "switch"]


def canary(
    reg: Registry,
    branch: str,
    percent: float,
    steps: Sequence[float] | None = None,
    *,
    now: datetime | None = None,
    run_changed: bool = False,
) -> DeliveryChange:
    """Start a canary of ``branch`` at ``percent`` (gated), or move the running one there.

    ``run_changed`` lets the check gate run check code the candidate changed (sandboxed)."""
    require_branch(reg, branch)
    if not 0 < percent <= 100 or abs(percent * 100 - round(percent * 100)) > 1e-6:
        raise BadInput(f"percent must be above 0 and at most 100 (0.01 steps), not {percent:g}")
    plan_steps = check_steps(list(steps)) if steps is not None else None

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if current.mode is Mode.CANARY:
            if candidate_of(current) != branch:
                refuse_if_busy(current, ())
            before = current.get(branch)
            assert before is not None
            if before.weight == percent:
                raise Refused(f"the canary of {branch} is already at {percent:g}%")
            moved = reweigh(current, [100 - percent, percent])
            if plan_steps is not None:
                moved = replace(moved, steps=plan_steps)
            return moved, f"delivery: canary {branch} {before.weight:g}% -> {percent:g}%"
        refuse_if_busy(current, (Mode.LIVE, Mode.BLUEGREEN))
        base = current.control.branch
        if branch == base:
            raise BadInput(f"{branch} is already live: a canary needs another branch")
        failure = gate_failure(reg, branch, base, run_changed=run_changed)
        if failure is not None:
            raise Refused(f"{branch} fails the promotion gates ({failure}); nothing was changed")
        started = stamp(now)
        counts = counts_from_weights([100 - percent, percent])
        ranges = cumulative({base: counts[0], branch: counts[1]})
        start = Delivery(
            Mode.CANARY,
            new_test_id("canary", [base, branch], started, None),
            (
                Variant(base, counts[0] / 100, ranges[base], "baseline"),
                Variant(branch, counts[1] / 100, ranges[branch], "candidate"),
            ),
            started,
            plan_steps if plan_steps is not None else DEFAULT_STEPS,
        )
        return start, f"delivery: canary {branch} at {percent:g}% (baseline {base})"

    return apply(reg, plan)


def canary_step(reg: Registry) -> DeliveryChange:
    """Move the running canary to the next step of its plan."""

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if current.mode is not Mode.CANARY:
            raise Refused(
                "no canary is running: start one with `mlvc canary BRANCH "
                "--percent N`; nothing was changed"
            )
        cand = current.with_role("candidate")
        assert cand is not None
        nxt = next((s for s in current.steps if s > cand.weight), None)
        if nxt is None:
            raise Refused(
                f"the canary of {cand.branch} is at {cand.weight:g}%, the last step: "
                f"promote it (`mlvc promote {cand.branch}`) or abort it"
            )
        return reweigh(current, [100 - nxt, nxt]), (
            f"delivery: canary {cand.branch} {cand.weight:g}% -> {nxt:g}% (step)"
        )

    return apply(reg, plan)


def canary_abort(reg: Registry) -> DeliveryChange:
    """Send every unit back to the baseline."""

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if current.mode is not Mode.CANARY:
            raise Refused("no canary is running; nothing was changed")
        base = current.control.branch
        return live(base, current.test, current.started), (
            f"delivery: abort canary of {candidate_of(current)}; {base} serves all traffic"
        )

    return apply(reg, plan)


def switch(
    reg: Registry,
    standby: str | None = None,
    now: datetime | None = None,
    *,
    run_changed: bool = False,
) -> DeliveryChange:
    """Blue/green: name a (gated) standby, or with no argument flip live and standby."""
    if standby is not None:
        require_branch(reg, standby)

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if standby is None:
            if current.mode is not Mode.BLUEGREEN:
                raise Refused(
                    "no blue/green deployment to flip: name a standby first "
                    "(`mlvc switch --standby BRANCH`); nothing was changed"
                )
            old, new = current.control, current.with_role("standby")
            assert new is not None
            return replace(
                current,
                variants=(
                    Variant(new.branch, 100.0, old.buckets, "live"),
                    Variant(old.branch, 0.0, (), "standby"),
                ),
            ), (f"delivery: switch live to {new.branch} (was {old.branch})")
        refuse_if_busy(current, (Mode.LIVE, Mode.BLUEGREEN))
        live_now = current.control
        if standby == live_now.branch:
            raise BadInput(f"{standby} is live already: the standby must be another branch")
        failure = gate_failure(reg, standby, live_now.branch, run_changed=run_changed)
        if failure is not None:
            raise Refused(f"{standby} fails the promotion gates ({failure}); nothing was changed")
        started = stamp(now)
        return Delivery(
            Mode.BLUEGREEN,
            current.test
            if current.mode is Mode.BLUEGREEN
            else new_test_id("bluegreen", [live_now.branch, standby], started, None),
            (
                Variant(live_now.branch, 100.0, live_now.buckets, "live"),
                Variant(standby, 0.0, (), "standby"),
            ),
            started,
        ), (f"delivery: blue/green {live_now.branch} live, {standby} standby")

    return apply(reg, plan)
