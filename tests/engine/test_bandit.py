"""Thompson-sampling bandits: deterministic weights, and a simulation whose regret flattens."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from mlvc_tui.engine.delivery.bandit import (
    ArmData,
    allocation_over_time,
    regret_curve,
    thompson_weights,
)
from mlvc_tui.engine.delivery.routing import counts_from_weights, cumulative, reallocate
from mlvc_tui.engine.delivery.spec import Delivery, Mode, Variant


def _binary(successes: int, n: int) -> ArmData:
    return ArmData(n, float(successes), float(successes), True)


def test_weights_are_deterministic_given_the_data_and_favour_the_best() -> None:
    arms = [_binary(40, 1000), _binary(55, 1000), _binary(80, 1000)]
    weights = thompson_weights(arms, "bandit-1")
    assert weights == thompson_weights(arms, "bandit-1")
    assert sum(weights) == pytest.approx(100) and all(w * 100 == int(w * 100) for w in weights)
    assert weights[2] > 90 and min(weights) >= 1.0  # the floor keeps every arm exploring
    code = (
        "import json\nfrom mlvc_tui.engine.delivery.bandit import ArmData, thompson_weights\n"
        "a = [ArmData(1000, float(s), float(s), True) for s in (40, 55, 80)]\n"
        "print(json.dumps(thompson_weights(a, 'bandit-1')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert json.loads(out.stdout) == weights  # the same in another process
    assert thompson_weights([_binary(0, 0)] * 4, "new") == [25.0] * 4  # no data: even


def test_continuous_rewards_and_lower_is_better() -> None:
    fast = ArmData(200, 200 * 40.0, 200 * (40.0**2 + 25), False)
    slow = ArmData(200, 200 * 55.0, 200 * (55.0**2 + 25), False)
    assert thompson_weights([fast, slow], "lat", higher_is_better=False)[0] == 99.0
    assert thompson_weights([fast, slow], "lat", higher_is_better=True)[1] == 99.0


def test_regret_and_allocation_by_hand() -> None:
    # a: rewards 1, 0 (mean .5); b: 1, 1 (mean 1): each a-unit costs .5 against b
    times = [1.0, 2.0, 3.0, 4.0]
    arms = ["a", "b", "a", "b"]
    curve, best, total = regret_curve(times, arms, [1, 1, 0, 1])
    assert best == "b" and total == 1.0
    assert curve == ((1.0, 0.5), (2.0, 0.5), (3.0, 1.0), (4.0, 1.0))
    starts, shares = allocation_over_time(times, arms, ["a", "b"], bins=2)
    assert starts == (1.0, 2.5) and shares == {"a": (50.0, 50.0), "b": (50.0, 50.0)}


def test_a_simulated_bandit_has_sub_linear_regret() -> None:
    """30 rounds of 600 units routed by the real router; weights by Thompson each round."""
    truth = {"a": 0.04, "b": 0.05, "c": 0.07}
    names = list(truth)
    rng = random.Random(11)
    ranges = cumulative(dict(zip(names, counts_from_weights([1, 1, 1]), strict=True)))
    seen = {n: [0, 0] for n in names}
    per_round: list[float] = []
    unit = 0
    for _ in range(30):
        d = Delivery(Mode.BANDIT, "sim", tuple(Variant(n, 0, ranges[n]) for n in names))
        regret = 0.0
        for _ in range(600):
            arm = d.route(f"u{unit}").branch
            unit += 1
            seen[arm][0] += rng.random() < truth[arm]
            seen[arm][1] += 1
            regret += max(truth.values()) - truth[arm]
        per_round.append(regret)
        weights = thompson_weights([_binary(*seen[n]) for n in names], "sim", draws=2000)
        ranges = reallocate(ranges, dict(zip(names, counts_from_weights(weights), strict=True)))
    cumulative_regret = [sum(per_round[: i + 1]) for i in range(len(per_round))]
    uniform = 600 * 30 * (0.03 + 0.02) / 3
    assert cumulative_regret[-1] < 0.4 * uniform
    first, last = sum(per_round[:10]), sum(per_round[-10:])
    assert last < 0.5 * first  # regret per unit falls: the curve bends, it is not a line
    assert cumulative_regret[-1] / 30 < 0.6 * cumulative_regret[9] / 10
    assert seen["c"][1] > seen["a"][1] + seen["b"][1]
