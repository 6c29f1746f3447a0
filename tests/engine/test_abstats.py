"""The A/B statistics against hand-computed values and against scipy."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats

from mlvc_tui.engine.delivery import stats as abstats
from mlvc_tui.engine.delivery.bandit import ArmData
from mlvc_tui.engine.delivery.report import Verdicts, _judge


def test_wilson_by_hand_and_by_scipy() -> None:
    # 45 of 100: p = .45, z = 1.959964, z² = 3.841459; centre (.45 + .019207) / 1.038415
    # = .451849, half 1.959964 * sqrt(.002475 + .0000960) / 1.038415 = .095704
    ci = abstats.wilson(45, 100)
    assert ci.estimate == 0.45
    assert ci.low == pytest.approx(0.356145, abs=1e-5)
    assert ci.high == pytest.approx(0.547553, abs=1e-5)
    for s, n in ((0, 10), (3, 17), (500, 1000), (1234, 5678)):
        ref = stats.binomtest(s, n).proportion_ci(0.95, method="wilson")
        got = abstats.wilson(s, n)
        assert (got.low, got.high) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_two_proportion_z_test_by_hand_and_by_scipy() -> None:
    # 100/1000 against 130/1000: pooled .115, se sqrt(.115 * .885 * .002) = .014267,
    # z = .03 / .014267 = 2.1028, two-sided p = .03548
    cmp = abstats.two_proportions(100, 1000, 130, 1000)
    assert cmp.statistic == pytest.approx(2.10276, abs=1e-4)
    assert cmp.p_value == pytest.approx(0.035485, abs=1e-5)
    assert cmp.diff.estimate == pytest.approx(0.03)
    # unpooled interval: .03 ± 1.959964 * sqrt(.09/1000 + .1131/1000) = .03 ± .027938
    assert (cmp.diff.low, cmp.diff.high) == pytest.approx((0.002062, 0.057938), abs=1e-5)
    table = [[100, 900], [130, 870]]  # the z-test is the uncorrected chi-square test
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert cmp.statistic**2 == pytest.approx(chi2) and cmp.p_value == pytest.approx(p)


def test_welch_and_t_interval_match_scipy() -> None:
    rng = random.Random(5)
    a = [rng.gauss(10, 2) for _ in range(40)]
    b = [rng.gauss(11, 4) for _ in range(25)]

    def mv(xs: list[float]) -> tuple[float, float]:
        m = sum(xs) / len(xs)
        return m, sum((x - m) ** 2 for x in xs) / (len(xs) - 1)

    (ma, va), (mb, vb) = mv(a), mv(b)
    cmp = abstats.welch(ma, va, len(a), mb, vb, len(b))
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert cmp.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert cmp.p_value == pytest.approx(ref.pvalue, rel=1e-7)
    assert cmp.df == pytest.approx(ref.df, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert (cmp.diff.low, cmp.diff.high) == pytest.approx((ci.low, ci.high), rel=1e-7)
    mine = abstats.mean_interval(ma, va, len(a))
    low, high = stats.t.interval(0.95, len(a) - 1, loc=ma, scale=math.sqrt(va / len(a)))
    assert (mine.low, mine.high) == pytest.approx((low, high), rel=1e-9)


def test_chi_square_tail_matches_scipy() -> None:
    # one degree of freedom: P(X >= 3.841459) = .05 (z = 1.959964 squared)
    assert abstats.chi_square_sf(3.841459, 1) == pytest.approx(0.05, abs=1e-7)
    for df in (1, 2, 3, 9):
        for x in (0.001, 0.7, 2.0, 11.0, 60.0):
            assert abstats.chi_square_sf(x, df) == pytest.approx(
                stats.chi2.sf(x, df), rel=1e-10, abs=1e-300
            )


@pytest.mark.parametrize("df", [1, 3, 7.5, 30, 250])
def test_student_t_matches_scipy(df: float) -> None:
    for t in (-6, -1.5, 0, 0.3, 2.2, 12):
        assert abstats.t_cdf(t, df) == pytest.approx(stats.t.cdf(t, df), abs=1e-12)
    for p in (0.025, 0.5, 0.9, 0.975):
        assert abstats.t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), abs=1e-9)


def test_sample_size_for_80_percent_power_by_hand() -> None:
    # 10 % against 12 %: (1.959964 sqrt(2 * .11 * .89) + .841621 sqrt(.09 + .1056))² / .02²
    # = (.867270 + .372213)² / .0004 = 3840.8 per arm (the textbook 3,841)
    n = abstats.needed_per_arm(0.09, 0.1056, 0.02, pooled_var=0.11 * 0.89)
    assert math.ceil(n) == 3841
    # continuous: (1.959964 + .841621)² * (4 + 4) / 1² = 62.79 per arm
    assert abstats.needed_per_arm(4, 4, 1.0) == pytest.approx(62.79, abs=0.01)
    assert math.isinf(abstats.needed_per_arm(4, 4, 0.0))


def _arm(successes: int, n: int) -> ArmData:
    return ArmData(n, float(successes), float(successes), True)


def test_verdicts_winner_loser_and_too_little_data() -> None:
    _, verdict, more = _judge(_arm(100, 1000), _arm(160, 1000), True, True, 0.05)
    assert (verdict, more) == (Verdicts.WINNER, 0)
    _, verdict, _ = _judge(_arm(160, 1000), _arm(100, 1000), True, True, 0.05)
    assert verdict == Verdicts.LOSER
    _, verdict, _ = _judge(_arm(160, 1000), _arm(100, 1000), True, False, 0.05)
    assert verdict == Verdicts.WINNER  # lower is better
    # 10 % vs 12 % on 500 per arm: not significant; 3,841 needed, 3,341 more
    cmp, verdict, more = _judge(_arm(50, 500), _arm(60, 500), True, True, 0.05)
    assert cmp is not None and cmp.p_value > 0.05
    assert (verdict, more) == (Verdicts.WAIT, 3341)
    # a big effect on 40 units: significant, but under 100 per arm is never a verdict
    _, verdict, more = _judge(_arm(2, 40), _arm(30, 40), True, True, 0.05)
    assert verdict == Verdicts.WAIT and more == 60
    assert _judge(_arm(0, 1), _arm(1, 1), True, True, 0.05) == (None, Verdicts.WAIT, None)
    # equal rates on plenty of data: no difference
    _, verdict, _ = _judge(_arm(500, 5000), _arm(500, 5000), True, True, 0.05)
    assert verdict == Verdicts.FLAT
