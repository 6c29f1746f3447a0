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

from mlvc_tui.engine.delivery.routing import BUCKETS, counts_from_weights, cumulative, reallocate
from mlvc_tui.engine.delivery.spec import (
    DELIVERY_PATH,
    TEST_ID,
    Delivery,
    Mode,
    Route,
    Variant,
    dump,
    live,
)
from mlvc_tui.engine.delivery.spec import parse as parse_delivery
from mlvc_tui.engine.errors import BadInput, RefNotFound, Refused

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry
    from mlvc_tui.engine.values import CommitInfo

__all__ = [
    "DEFAULT_STEPS",
    "DeliveryChange",
    "DeliveryCommit",
    "apply",
    "delivery_log",
    "moved_share",
    "parse_weights",
    "read_delivery",
    "route",
    "set_weights",
    "start_ab",
    "stop_ab",
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


@dataclass(frozen=True, slots=True)
class DeliveryCommit:
    """A prod commit that changed `delivery.toml`: who shifted traffic when."""

    commit: CommitInfo
    blob: str | None  # the file's blob id after the commit (None: removed)


def delivery_log(reg: Registry, limit: int = 20, depth: int = 2000) -> tuple[DeliveryCommit, ...]:
    """The newest changes to `delivery.toml` along prod's first-parent history."""
    out: list[DeliveryCommit] = []
    chain = list(reg.objects.first_parent_chain(reg.resolve(_prod(reg)), depth))
    blobs = [reg.objects.lookup(reg.objects.commit(c.id)[1], DELIVERY_PATH) for c in chain]
    for i, (info, hit) in enumerate(zip(chain, blobs, strict=True)):
        older = blobs[i + 1] if i + 1 < len(blobs) else None
        if (hit and hit[1]) != (older and older[1]):
            out.append(DeliveryCommit(info, hit[1] if hit else None))
            if len(out) >= limit:
                break
    return tuple(out)


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


def route(reg: Registry, unit: str, at: str | None = None) -> Route:
    """The branch that serves ``unit``; RefNotFound rather than a branch that does not exist
    (a hand-committed `delivery.toml` may name one)."""
    found = read_delivery(reg, at).route(unit)
    if reg.branch_tip(found.branch) is None:
        raise RefNotFound(
            f"{DELIVERY_PATH} sends {unit!r} to {found.branch!r}, which is not a branch: "
            "fix delivery.toml on prod"
        )
    return found


def moved_share(before: Delivery, after: Delivery) -> float:
    """Percent of units whose branch differs (expected, when a new test id reshuffles)."""
    if before.test != after.test:  # units reshuffle: expected share on another branch
        same = sum(
            v.weight * (w.weight if (w := after.get(v.branch)) else 0.0) for v in before.variants
        )
        return round(100 - same / 100, 2)
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
    return DeliveryChange(
        tx.commit_id,
        message,
        before,
        replace(after, commit=tx.commit_id),
        moved_share(before, after),
    )


def require_branch(reg: Registry, name: str) -> str:
    if reg.branch_tip(name) is None:
        raise RefNotFound(f"no branch named {name!r}")
    return name


def stamp(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_test_id(kind: str, branches: Sequence[str], started: str, given: str | None) -> str:
    if given is not None:
        if not TEST_ID.fullmatch(given):
            raise BadInput("a test id is 1-64 letters, digits, '.', '_' or '-'")
        return given
    digest = hashlib.sha256(f"{started}|{'|'.join(branches)}".encode()).hexdigest()[:6]
    return f"{kind}-{started[:10].replace('-', '')}-{digest}"


def _weights(counts: Sequence[int]) -> list[float]:
    return [c / 100 for c in counts]


def refuse_if_busy(current: Delivery, allowed: tuple[Mode, ...]) -> None:
    if current.mode in allowed:
        return
    what = {
        Mode.CANARY: f"a canary of {candidate_of(current)} is running: step it to 100 or "
        "abort it first (`mlvc canary --abort`)",
        Mode.AB: f"A/B test {current.test} is running: stop it first (`mlvc ab stop`)",
        Mode.BANDIT: f"bandit {current.test} is running: stop it first (`mlvc ab stop`)",
        Mode.BLUEGREEN: "a blue/green deployment is set up: flip it with `mlvc switch`",
        Mode.LIVE: "nothing is running",
    }
    raise Refused(f"{what[current.mode]}; nothing was changed")


def candidate_of(d: Delivery) -> str:
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


def start_ab(
    reg: Registry,
    branches: Sequence[str],
    weights: str | Sequence[float] | None = None,
    *,
    bandit: bool = False,
    test: str | None = None,
    floor: float = 1.0,
    now: datetime | None = None,
) -> DeliveryChange:
    """Start an A/B/n test (or a bandit): the first branch is the control."""
    if len(branches) < 2:
        raise BadInput("an A/B test needs at least two branches")
    if len(set(branches)) != len(branches):
        raise BadInput("a branch is listed twice")
    for b in branches:
        require_branch(reg, b)
    n = len(branches)
    values = (
        parse_weights(weights, n)
        if weights is not None
        else _weights(counts_from_weights([1.0] * n))
    )
    if bandit and not 0 <= floor * n <= 100:
        raise BadInput(f"a floor of {floor:g}% for {n} arms is more than 100%")
    started = stamp(now)
    tid = new_test_id("bandit" if bandit else "ab", branches, started, test)

    def plan(current: Delivery) -> tuple[Delivery, str]:
        refuse_if_busy(current, (Mode.LIVE, Mode.BLUEGREEN))
        counts = counts_from_weights(values)
        ranges = cumulative(dict(zip(branches, counts, strict=True)))
        roles = ["control"] + (["arm"] if bandit else ["variant"]) * (n - 1)
        variants = tuple(
            Variant(b, c / 100, ranges[b], r)
            for b, c, r in zip(branches, counts, roles, strict=True)
        )
        after = Delivery(Mode.BANDIT if bandit else Mode.AB, tid, variants, started, floor=floor)
        split = ", ".join(f"{v.branch} {v.weight:g}%" for v in variants)
        return after, f"delivery: start {'bandit' if bandit else 'A/B test'} {tid}: {split}"

    return apply(reg, plan)


def set_weights(reg: Registry, weights: str | Sequence[float], why: str = "") -> DeliveryChange:
    """New weights for the running A/B test or bandit; only the units they must move."""

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if current.mode not in (Mode.AB, Mode.BANDIT):
            raise Refused(
                "no A/B test or bandit is running: start one with `mlvc ab start`; "
                "nothing was changed"
            )
        values = parse_weights(weights, len(current.variants))
        return reweigh(current, values), (
            f"delivery: {current.test} weights "
            + ", ".join(
                f"{v.branch} {v.weight:g}% -> {w:g}%"
                for v, w in zip(current.variants, values, strict=True)
            )
            + (f"\n\n{why}" if why else "")
        )

    return apply(reg, plan)


def reweigh(d: Delivery, values: Sequence[float]) -> Delivery:
    counts = dict(zip((v.branch for v in d.variants), counts_from_weights(values), strict=True))
    ranges = reallocate({v.branch: v.buckets for v in d.variants}, counts)
    return replace(
        d,
        variants=tuple(
            replace(v, weight=counts[v.branch] / 100, buckets=ranges[v.branch]) for v in d.variants
        ),
    )


def stop_ab(reg: Registry, keep: str | None = None) -> DeliveryChange:
    """Stop the A/B test or bandit: prod (or ``keep``, a variant) serves everything."""
    prod = _prod(reg)

    def plan(current: Delivery) -> tuple[Delivery, str]:
        if current.mode not in (Mode.AB, Mode.BANDIT):
            raise Refused("no A/B test or bandit is running; nothing was changed")
        branch = keep or prod
        if branch != prod and current.get(branch) is None:
            raise BadInput(f"{branch!r} is neither prod nor a variant of {current.test}")
        return live(branch, current.test, current.started), (
            f"delivery: stop {current.test}; {branch} serves all traffic"
        )

    return apply(reg, plan)
