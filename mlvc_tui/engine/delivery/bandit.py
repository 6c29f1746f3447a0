"""Multi-armed bandits: Thompson-sampling allocation, and how a run did in hindsight.

:func:`thompson_weights` turns each arm's observations into the probability that it is
the best arm (Beta posteriors for 0/1 rewards, normal ones for continuous rewards),
estimated from seeded draws: the same data and test give the same weights, in any process.
:func:`regret_curve` is the cumulative regret of the units served so far against always
serving the best arm in hindsight; :func:`allocation_over_time` is each arm's share of the
units per time bin. Stdlib only.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from mlvc_tui.engine.delivery.routing import counts_from_weights

__all__ = ["ArmData", "allocation_over_time", "regret_curve", "thompson_weights"]


@dataclass(frozen=True, slots=True)
class ArmData:
    """What one arm has observed: count, sum and sum of squares of its rewards."""

    n: int
    total: float
    squares: float
    binary: bool

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def var(self) -> float:
        if self.n < 2:
            return math.nan
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


def _seed(test: str, arms: Sequence[ArmData]) -> int:
    key = test + "|" + "|".join(f"{a.n}:{float(a.total)!r}:{float(a.squares)!r}" for a in arms)
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def thompson_weights(
    arms: Sequence[ArmData],
    test: str,
    *,
    floor: float = 1.0,
    higher_is_better: bool = True,
    draws: int = 4000,
) -> list[float]:
    """Percent weights (0.01 steps, summing to 100): ``floor`` each, the rest shared by
    each arm's posterior probability of being the best."""
    k = len(arms)
    if all(a.n == 0 for a in arms):  # nothing observed yet: an even split, no dice
        return [c / 100 for c in counts_from_weights([1.0] * k)]
    rng = random.Random(_seed(test, arms))
    seen = [a for a in arms if a.n >= 2]
    grand = sum(a.total for a in seen) / max(1, sum(a.n for a in seen))
    spread = math.sqrt(sum(a.var * (a.n - 1) for a in seen) / max(1, sum(a.n - 1 for a in seen)))
    sign = 1.0 if higher_is_better else -1.0
    wins = [0] * k
    for _ in range(draws):
        best, best_i = -math.inf, 0
        for i, a in enumerate(arms):
            if a.binary:
                s = max(0.0, min(a.total, a.n))
                x = rng.betavariate(1 + s, 1 + a.n - s)
            elif a.n >= 2:
                x = rng.gauss(a.mean, math.sqrt(max(a.var, 1e-12) / a.n))
            else:  # no data yet: a wide prior around what the others saw
                x = rng.gauss(grand, 10 * (spread or 1.0))
            if sign * x > best:
                best, best_i = sign * x, i
        wins[best_i] += 1
    share = max(0.0, 100 - floor * k)
    counts = counts_from_weights([floor + share * w / draws for w in wins])
    return [c / 100 for c in counts]


def regret_curve(
    times: Sequence[float],
    arms: Sequence[str],
    outcomes: Sequence[float],
    higher_is_better: bool = True,
    points: int = 60,
) -> tuple[tuple[tuple[float, float], ...], str, float]:
    """Cumulative regret in time order against the best arm in hindsight.

    Each unit served by arm ``a`` costs ``|mean(best) - mean(a)|``; returns up to
    ``points`` (time, cumulative regret) pairs, the best arm and the final regret.
    """
    sums: dict[str, list[float]] = {}
    for arm, y in zip(arms, outcomes, strict=True):
        acc = sums.setdefault(arm, [0.0, 0.0])
        acc[0] += y
        acc[1] += 1
    if not sums:
        return (), "", 0.0
    means = {a: s / n for a, (s, n) in sums.items()}
    best = (max if higher_is_better else min)(sorted(means), key=lambda a: means[a])
    order = sorted(
        range(len(arms)), key=lambda i: (times[i] if times[i] == times[i] else math.inf, i)
    )
    step = max(1, math.ceil(len(order) / points))
    total, out = 0.0, []
    for j, i in enumerate(order, 1):
        total += abs(means[best] - means[arms[i]])
        if j % step == 0 or j == len(order):
            out.append((times[i], total))
    return tuple(out), best, total


def allocation_over_time(
    times: Sequence[float], arms: Sequence[str], names: Sequence[str], bins: int = 12
) -> tuple[tuple[float, ...], dict[str, tuple[float, ...]]]:
    """Each arm's share (percent) of the units in ``bins`` equal time bins: bin starts and
    shares per arm (NaN in a bin with no units)."""
    known = [t for t in times if t == t]
    if not known:
        return (), {}
    lo, hi = min(known), max(known)
    width = (hi - lo) / bins or 1.0
    counts = [[0] * len(names) for _ in range(bins)]
    index = {n: i for i, n in enumerate(names)}
    for t, arm in zip(times, arms, strict=True):
        if t == t and arm in index:
            counts[min(bins - 1, int((t - lo) / width))][index[arm]] += 1
    starts = tuple(lo + b * width for b in range(bins))
    shares = {
        n: tuple(100 * c[i] / sum(c) if sum(c) else math.nan for c in counts)
        for n, i in index.items()
    }
    return starts, shares
