"""The statistics of an A/B report, in the standard library only (no numpy, no scipy).

Binary outcomes: Wilson score interval per arm; the difference against control by the
pooled two-proportion z-test, with an unpooled Wald interval. Continuous outcomes: the
Student t interval per arm; the difference by Welch's t-test with Welch–Satterthwaite
degrees of freedom. Sample sizes for 80 % power are the usual normal approximations.
Student's t distribution comes from the regularized incomplete beta function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

__all__ = [
    "Comparison",
    "Interval",
    "chi_square_sf",
    "mean_interval",
    "needed_per_arm",
    "t_cdf",
    "t_quantile",
    "two_proportions",
    "welch",
    "wilson",
]

_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate with its confidence interval."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """Variant minus control: the difference, its interval, the test and its p-value."""

    diff: Interval
    statistic: float  # z or t
    p_value: float
    df: float | None  # Welch's degrees of freedom; None for the z-test
    test: str  # "two-proportion z-test" or "Welch's t-test"


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """The Wilson score interval of a proportion."""
    if n <= 0:
        return Interval(math.nan, math.nan, math.nan)
    z = _NORMAL.inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(mean: float, var: float, n: int, confidence: float = 0.95) -> Interval:
    """Student's t interval of a mean (sample variance ``var``, ``n`` observations)."""
    if n < 2:
        return Interval(mean if n else math.nan, math.nan, math.nan)
    half = t_quantile(0.5 + confidence / 2, n - 1) * math.sqrt(var / n)
    return Interval(mean, mean - half, mean + half)


def two_proportions(s1: int, n1: int, s2: int, n2: int, confidence: float = 0.95) -> Comparison:
    """Arm 2 against arm 1: pooled z-test, unpooled interval of p2 - p1."""
    p1, p2 = s1 / n1, s2 / n2
    pooled = (s1 + s2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (p2 - p1) / se0 if se0 > 0 else 0.0
    p_value = 2 * (1 - _NORMAL.cdf(abs(z))) if se0 > 0 else 1.0
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    q = _NORMAL.inv_cdf(0.5 + confidence / 2)
    diff = p2 - p1
    return Comparison(
        Interval(diff, diff - q * se, diff + q * se), z, p_value, None, "two-proportion z-test"
    )


def welch(
    m1: float, v1: float, n1: int, m2: float, v2: float, n2: int, confidence: float = 0.95
) -> Comparison:
    """Arm 2 against arm 1 by Welch's t-test (unequal variances)."""
    a, b = v1 / n1, v2 / n2
    se = math.sqrt(a + b)
    diff = m2 - m1
    if se == 0:
        return Comparison(
            Interval(diff, diff, diff), 0.0, 1.0 if diff == 0 else 0.0, None, "Welch's t-test"
        )
    den = (a * a / (n1 - 1) if n1 > 1 else 0.0) + (b * b / (n2 - 1) if n2 > 1 else 0.0)
    df = (a + b) ** 2 / den if den > 0 else math.inf
    t = diff / se
    p_value = 2 * (1 - t_cdf(abs(t), df))
    half = t_quantile(0.5 + confidence / 2, df) * se
    return Comparison(Interval(diff, diff - half, diff + half), t, p_value, df, "Welch's t-test")


def needed_per_arm(
    var1: float,
    var2: float,
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    pooled_var: float | None = None,
) -> float:
    """Observations per arm to detect ``effect`` with ``power`` at two-sided ``alpha``.

    With ``pooled_var`` (proportions: p̄(1-p̄)), the null's spread uses it:
    n = (z_a·sqrt(2·p̄q̄) + z_b·sqrt(p1q1 + p2q2))² / δ²; otherwise (z_a + z_b)²(v1+v2)/δ².
    """
    if effect == 0 or not math.isfinite(effect):
        return math.inf
    za, zb = _NORMAL.inv_cdf(1 - alpha / 2), _NORMAL.inv_cdf(power)
    if pooled_var is not None:
        top = za * math.sqrt(2 * pooled_var) + zb * math.sqrt(var1 + var2)
        return top * top / (effect * effect)
    return (za + zb) ** 2 * (var1 + var2) / (effect * effect)


def chi_square_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with ``df`` degrees of freedom."""
    if x <= 0:
        return 1.0
    a, half = df / 2, x / 2
    front = math.exp(-half + a * math.log(half) - math.lgamma(a))
    if half < a + 1:  # the series of the lower function P
        term = total = 1 / a
        n = a
        while abs(term) > abs(total) * 1e-16:
            n += 1
            term *= half / n
            total += term
        return max(0.0, 1 - front * total)
    tiny = 1e-300  # Lentz's continued fraction of the upper function Q
    b, c, d = half + 1 - a, 1 / tiny, 1 / (half + 1 - a)
    h = d
    for i in range(1, 500):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1 / (d if abs(d) > tiny else tiny)
        c = b + an / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return front * h


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom (normal when df is inf)."""
    if math.isinf(df):
        return _NORMAL.cdf(t)
    if t * t < df:  # the centre: P(|T| < t) = I_{t²/(df+t²)}(1/2, df/2), precise near 0
        half = 0.5 * _betainc(0.5, df / 2, t * t / (df + t * t))
        return 0.5 + half if t > 0 else 0.5 - half
    tail = 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t (bisection on :func:`t_cdf`; 1e-12 precise)."""
    if math.isinf(df) or df > 1e7:
        return _NORMAL.inv_cdf(p)
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1 - front * _betacf(b, a, 1 - x) / b


def _betacf(a: float, b: float, x: float) -> float:
    """Lentz's continued fraction for the incomplete beta function."""
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + num * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return h
