"""Verbs that shift traffic: each one commit to `delivery.toml` on prod, or a clear refusal.

Every verb reads the file at the prod commit its transaction starts from and moves prod by
compare-and-swap, so two people shifting traffic at once never lose a change: the second
is refused ("prod moved meanwhile") and nothing of it is written.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .delivery import DELIVERY_PATH, TEST_ID, Delivery, Mode, Variant, check_steps, dump, live
from .delivery import parse as parse_delivery
from .delivery_gate import gate_failure
from .errors import BadInput, RefNotFound, Refused
from .routing import BUCKETS, counts_from_weights, cumulative, reallocate

if TYPE_CHECKING:
    from .registry import Registry

__all__ = [
    "DEFAULT_STEPS",
    "DeliveryChange",
    "apply",
    "canary",
    "canary_abort",
    "canary_step",
    "moved_share",
    "read_delivery",
    "set_weights",
    "start_ab",
    "stop_ab",
    "switch",
]

DEFAULT_STEPS = (1.0, 5.0, 25.0, 50.0, 100.0)


@dataclass(frozen=True, slots=True)
class DeliveryChange:
    """One commit to `delivery.toml`: the split before and after, and the units it moved."""

    commit: str
    message: str
    before: Delivery
    after: Delivery
    moved: float  # percent of units now served by another branch than before


def _prod(reg: Registry) -> str:
    prod = reg.prod
    if prod is None:
        raise BadInput("this registry has no prod branch (looked for prod, main, master)")
    return prod


def read_delivery(reg: Registry, ref: str | None = None) -> Delivery:
    """The split on prod (or at ``ref``); without a file, prod serves everything."""
    where = ref or _prod(reg)
    commit = reg.resolve(where)
    hit = reg.objects.lookup(reg.objects.commit(commit)[1], DELIVERY_PATH)
    if hit is None:
        return replace(live(_prod(reg)), commit=commit)
    return parse_delivery(reg.objects.blob(hit[1]), commit)


def moved_share(before: Delivery, after: Delivery) -> float:
    """Percent of units whose branch differs (every unit moves when the test id changes)."""
    if before.test != after.test:
        return 100.0
    edges = sorted({e for d in (before, after) for v in d.variants for r in v.buckets for e in r})
    moved = 0
    for lo, hi in itertools.pairwise(edges):
        if _branch_at(before, lo) != _branch_at(after, lo):
            moved += hi - lo
    return moved * 100 / BUCKETS


def _branch_at(d: Delivery, point: int) -> str:
    return next(v.branch for v in d.variants if any(lo <= point < hi for lo, hi in v.buckets))


Plan = Callable[[Delivery], tuple[Delivery, str]]


def apply(reg: Registry, plan: Plan) -> DeliveryChange:
    """Commit ``plan(current)`` to prod's `delivery.toml`; nothing is written if it raises."""
    prod = _prod(reg)
    with reg.transaction(prod, "delivery") as tx:
        before = read_delivery(reg, tx.base or prod)
        after, message = plan(before)
        tx.message = message
        tx.put(DELIVERY_PATH, dump(after))
    assert tx.commit_id is not None
    return DeliveryChange(tx.commit_id, message, before, replace(after, commit=tx.commit_id),
                          moved_share(before, after))


def _branch(reg: Registry, name: str) -> str:
    if reg.branch_tip(name) is None:
        raise RefNotFound(f"no branch named {name!r}")
    return name


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _test_id(kind: str, branches: Sequence[str], started: str, given: str | None) -> str:
    if given is not None:
        if not TEST_ID.fullmatch(given):
            raise BadInput("a test id is 1-64 letters, digits, '.', '_' or '-'")
        return given
    digest = hashlib.sha256(f"{started}|{'|'.join(branches)}".encode()).hexdigest()[:6]
    return f"{kind}-{started[:10].replace('-', '')}-{digest}"


def _weights(counts: Sequence[int]) -> list[float]:
    return [c / 100 for c in counts]


def _busy(current: Delivery, allowed: tuple[Mode, ...]) -> None:
    if current.mode in allowed:
        return
    what = {Mode.CANARY: f"a canary of {_candidate(current)} is running: step it to 100 or "
                         "abort it first (`mlvc canary --abort`)",
            Mode.AB: f"A/B test {current.test} is running: stop it first (`mlvc ab stop`)",
            Mode.BANDIT: f"bandit {current.test} is running: stop it first (`mlvc ab stop`)",
            Mode.BLUEGREEN: "a blue/green deployment is set up: flip it with `mlvc switch`",
            Mode.LIVE: "nothing is running"}
    raise Refused(f"{what[current.mode]}; nothing was changed")


def _candidate(d: Delivery) -> str:
    found = d.with_role("candidate")
    return found.branch if found else "?"


def parse_weights(text: str | Sequence[float], n: int) -> list[float]:
    """``"20,80"`` (or numbers) as ``n`` percentages summing to 100; BadInput otherwise."""
    try:
        values = [float(x) for x in (text.split(",") if isinstance(text, str) else text)]
    except ValueError:
        raise BadInput(f"weights must be numbers separated by commas, not {text!r}") from None
    if len(values) != n:
        raise BadInput(f"{len(values)} weights for {n} variants: give one per variant")
    if any(not 0 <= w <= 100 for w in values):
        raise BadInput("each weight must be between 0 and 100")
    if abs(sum(values) - 100) > 1e-6:
        raise BadInput(f"weights sum to {sum(values):g}, not 100")
    if any(abs(w * 100 - round(w * 100)) > 1e-6 for w in values):
        raise BadInput("weights are percentages with at most two decimals (0.01 % steps)")
    return values


def start_ab(reg: Registry, branches: Sequence[str], weights: str | Sequence[float] | None = None,
             *, bandit: bool = False, test: str | None = None, floor: float = 1.0,
             now: datetime | None = None) -> DeliveryChange:
    """Start an A/B/n test (or a bandit): the first branch is the control."""
    if len(branches) < 2:
        raise BadInput("an A/B test needs at least two branches")
    if len(set(branches)) != len(branches):
        raise BadInput("a branch is listed twice")
    for b in branches:
        _branch(reg, b)
    n = len(branches)
    values = parse_weights(weights, n) if weights is not None else \
        _weights(counts_from_weights([1.0] * n))
    if bandit and not 0 <= floor * n <= 100:
        raise BadInput(f"a floor of {floor:g}% for {n} arms is more than 100%")
    started = _now(now)
    tid = _test_id("bandit" if bandit else "ab", branches, started, test)

    def plan(current: Delivery) -> tuple[Delivery, str]:
        _busy(current, (Mode.LIVE, Mode.BLUEGREEN))
        counts = counts_from_weights(values)
        ranges = cumulative(dict(zip(branches, counts, strict=True)))
        roles = ["control"] + (["arm"] if bandit else ["variant"]) * (n - 1)
        variants = tuple(Variant(b, c / 100, ranges[b], r)
                         for b, c, r in zip(branches, counts, roles, strict=True))
        after = Delivery(Mode.BANDIT if bandit else Mode.AB, tid, variants, started,
                         floor=floor)
        split = ", ".join(f"{v.branch} {v.weight:g}%" for v in variants)
        return after, f"delivery: start {'bandit' if bandit else 'A/B test'} {tid}: {split}"

    return apply(reg, plan)


def set_weights(reg: Registry, weights: str | Sequence[float], why: str = "") -> DeliveryChange:
    """New weights for the running A/B test or bandit; only the units they must move."""

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if current.mode not in (Mode.AB, Mode.BANDIT):
            raise Refused("no A/B test or bandit is running: start one with `mlvc ab start`; "
                          "nothing was changed")
        values = parse_weights(weights, len(current.variants))
        return _reweigh(current, values), (
            f"delivery: {current.test} weights "
            + ", ".join(f"{v.branch} {v.weight:g}% -> {w:g}%"
                        for v, w in zip(current.variants, values, strict=True))
            + (f"\n\n{why}" if why else ""))

    return apply(reg, plan)


def _reweigh(d: Delivery, values: Sequence[float]) -> Delivery:
    counts = dict(zip((v.branch for v in d.variants), counts_from_weights(values), strict=True))
    ranges = reallocate({v.branch: v.buckets for v in d.variants}, counts)
    return replace(d, variants=tuple(
        replace(v, weight=counts[v.branch] / 100, buckets=ranges[v.branch])
        for v in d.variants))


def stop_ab(reg: Registry, keep: str | None = None) -> DeliveryChange:
    """Stop the A/B test or bandit: ``keep`` (default: the control) serves everything."""

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if current.mode not in (Mode.AB, Mode.BANDIT):
            raise Refused("no A/B test or bandit is running; nothing was changed")
        branch = keep or current.control.branch
        if current.get(branch) is None:
            raise BadInput(f"{branch!r} is not a variant of {current.test}")
        return live(branch, current.test, current.started), (
            f"delivery: stop {current.test}; {branch} serves all traffic")

    return apply(reg, plan)


def canary(reg: Registry, branch: str, percent: float, steps: Sequence[float] | None = None,
           *, now: datetime | None = None) -> DeliveryChange:
    """Start a canary of ``branch`` at ``percent`` (gated), or move the running one there."""
    _branch(reg, branch)
    if not 0 < percent <= 100 or abs(percent * 100 - round(percent * 100)) > 1e-6:
        raise BadInput(f"percent must be above 0 and at most 100 (0.01 steps), not {percent:g}")
    plan_steps = check_steps(list(steps)) if steps is not None else None

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if current.mode is Mode.CANARY:
            if _candidate(current) != branch:
                _busy(current, ())
            before = current.get(branch)
            assert before is not None
            if before.weight == percent:
                raise Refused(f"the canary of {branch} is already at {percent:g}%")
            moved = _reweigh(current, [100 - percent, percent])
            if plan_steps is not None:
                moved = replace(moved, steps=plan_steps)
            return moved, f"delivery: canary {branch} {before.weight:g}% -> {percent:g}%"
        _busy(current, (Mode.LIVE, Mode.BLUEGREEN))
        base = current.control.branch
        if branch == base:
            raise BadInput(f"{branch} is already live: a canary needs another branch")
        failure = gate_failure(reg, branch, base)
        if failure is not None:
            raise Refused(f"{branch} fails the promotion gates ({failure}); nothing was changed")
        started = _now(now)
        counts = counts_from_weights([100 - percent, percent])
        ranges = cumulative({base: counts[0], branch: counts[1]})
        start = Delivery(Mode.CANARY, _test_id("canary", [base, branch], started, None), (
            Variant(base, counts[0] / 100, ranges[base], "baseline"),
            Variant(branch, counts[1] / 100, ranges[branch], "candidate"),
        ), started, plan_steps if plan_steps is not None else DEFAULT_STEPS)
        return start, f"delivery: canary {branch} at {percent:g}% (baseline {base})"

    return apply(reg, plan)


def canary_step(reg: Registry) -> DeliveryChange:
    """Move the running canary to the next step of its plan."""

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if current.mode is not Mode.CANARY:
            raise Refused("no canary is running: start one with `mlvc canary BRANCH "
                          "--percent N`; nothing was changed")
        cand = current.with_role("candidate")
        assert cand is not None
        nxt = next((s for s in current.steps if s > cand.weight), None)
        if nxt is None:
            raise Refused(f"the canary of {cand.branch} is at {cand.weight:g}%, the last step: "
                          f"promote it (`mlvc promote {cand.branch}`) or abort it")
        return _reweigh(current, [100 - nxt, nxt]), (
            f"delivery: canary {cand.branch} {cand.weight:g}% -> {nxt:g}% (step)")

    return apply(reg, plan)


def canary_abort(reg: Registry) -> DeliveryChange:
    """Send every unit back to the baseline."""

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if current.mode is not Mode.CANARY:
            raise Refused("no canary is running; nothing was changed")
        base = current.control.branch
        return live(base, current.test, current.started), (
            f"delivery: abort canary of {_candidate(current)}; {base} serves all traffic")

    return apply(reg, plan)


def switch(reg: Registry, standby: str | None = None,
           now: datetime | None = None) -> DeliveryChange:
    """Blue/green: name a (gated) standby, or with no argument flip live and standby."""
    if standby is not None:
        _branch(reg, standby)

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if standby is None:
            if current.mode is not Mode.BLUEGREEN:
                raise Refused("no blue/green deployment to flip: name a standby first "
                              "(`mlvc switch --standby BRANCH`); nothing was changed")
            old, new = current.control, current.with_role("standby")
            assert new is not None
            return replace(current, variants=(
                Variant(new.branch, 100.0, old.buckets, "live"),
                Variant(old.branch, 0.0, (), "standby"))), (
                f"delivery: switch live to {new.branch} (was {old.branch})")
        _busy(current, (Mode.LIVE, Mode.BLUEGREEN))
        live_now = current.control
        if standby == live_now.branch:
            raise BadInput(f"{standby} is live already: the standby must be another branch")
        failure = gate_failure(reg, standby, live_now.branch)
        if failure is not None:
            raise Refused(f"{standby} fails the promotion gates ({failure}); "
                          "nothing was changed")
        started = _now(now)
        return Delivery(Mode.BLUEGREEN, current.test if current.mode is Mode.BLUEGREEN else
                        _test_id("bluegreen", [live_now.branch, standby], started, None), (
            Variant(live_now.branch, 100.0, live_now.buckets, "live"),
            Variant(standby, 0.0, (), "standby")), started), (
            f"delivery: blue/green {live_now.branch} live, {standby} standby")

    return apply(reg, plan)
