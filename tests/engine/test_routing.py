"""Sticky routing: buckets by sha256, weights honoured, weight changes move only what they must."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys

import pytest
from scipy import stats

from mlvc_tui.engine import BadInput
from mlvc_tui.engine.delivery.routing import (
    BUCKETS,
    bucket,
    counts_from_weights,
    cumulative,
    owner,
    reallocate,
    size,
)
from mlvc_tui.engine.delivery.spec import Delivery, Mode, Variant, dump, parse

UNITS = [f"user-{i}" for i in range(100_000)]


def _ab(weights: list[float], test: str = "exp-1") -> Delivery:
    names = [f"v{i}" for i in range(len(weights))]
    ranges = cumulative(dict(zip(names, counts_from_weights(weights), strict=True)))
    return Delivery(
        Mode.AB,
        test,
        tuple(
            Variant(n, w, ranges[n], "control" if i == 0 else "variant")
            for i, (n, w) in enumerate(zip(names, weights, strict=True))
        ),
    )


def test_bucket_is_sha256_of_test_and_unit() -> None:
    digest = hashlib.sha256(b"exp-1:user-42").digest()
    assert bucket("exp-1", "user-42") == int.from_bytes(digest[:8], "big") % 10_000
    assert bucket("exp-1", "user-42") == bucket("exp-1", "user-42")
    assert bucket("exp-2", "user-42") != bucket("exp-1", "user-42")  # a new test reshuffles


def test_sticky_across_processes() -> None:
    d = _ab([20, 30, 50])
    here = [d.route(u).branch for u in UNITS[:5000]]
    code = (
        "import json, sys\nfrom mlvc_tui.engine.delivery.spec import parse\n"
        "d = parse(sys.stdin.buffer.read())\n"
        "print(json.dumps([d.route(f'user-{i}').branch for i in range(5000)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=dump(d),
        capture_output=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin"},
    )
    assert json.loads(out.stdout) == here


@pytest.mark.parametrize("weights", [[50, 50], [10, 30, 60], [1, 99], [33.34, 33.33, 33.33]])
def test_weights_are_honoured_over_100k_units(weights: list[float]) -> None:
    d = _ab(weights)
    seen: dict[str, int] = {}
    for u in UNITS:
        branch = d.route(u).branch
        seen[branch] = seen.get(branch, 0) + 1
    n = len(UNITS)
    expected = [w / 100 * n for w in weights]
    observed = [seen.get(f"v{i}", 0) for i in range(len(weights))]
    for o, e in zip(observed, expected, strict=True):  # each within 4.5 standard deviations
        p = e / n
        assert abs(o - e) < 4.5 * (n * p * (1 - p)) ** 0.5, (observed, expected)
    assert stats.chisquare(observed, expected).pvalue > 1e-4


def test_weight_changes_move_only_the_units_they_must() -> None:
    rng = random.Random(3)
    names = ["a", "b", "c", "d"]
    current = cumulative(dict(zip(names, counts_from_weights([25, 25, 25, 25]), strict=True)))
    owners_before = [owner(current, p) for p in range(BUCKETS)]
    for _ in range(40):
        raw = [rng.choice([0, 1, 5, 10, 30, 50]) for _ in names]
        raw[rng.randrange(4)] += 1
        counts = dict(zip(names, counts_from_weights(raw), strict=True))
        old_counts = {n: size(r) for n, r in current.items()}
        nxt = reallocate(current, counts)
        assert {n: size(r) for n, r in nxt.items()} == counts
        owners_after = [owner(nxt, p) for p in range(BUCKETS)]
        moved = [(a, b) for a, b in zip(owners_before, owners_after, strict=True) if a != b]
        must = sum(max(0, counts[n] - old_counts[n]) for n in names)
        assert len(moved) == must  # exactly the total weight gained, never more
        for a, b in moved:  # every moved unit leaves a shrinking variant for a growing one
            assert counts[a] < old_counts[a] and counts[b] > old_counts[b]
        current, owners_before = nxt, owners_after


def test_moved_units_match_moved_buckets_over_100k_units() -> None:
    before = _ab([50, 30, 20])
    counts = dict(zip(("v0", "v1", "v2"), counts_from_weights([40, 30, 30]), strict=True))
    ranges = reallocate({v.branch: v.buckets for v in before.variants}, counts)
    after = Delivery(
        Mode.AB,
        before.test,
        tuple(
            Variant(v.branch, counts[v.branch] / 100, ranges[v.branch], v.role)
            for v in before.variants
        ),
    )
    changed = [(before.route(u).branch, after.route(u).branch) for u in UNITS]
    moved = [(a, b) for a, b in changed if a != b]
    assert {(a, b) for a, b in moved} == {("v0", "v2")}  # v1 kept every one of its units
    assert abs(len(moved) / len(UNITS) - 0.10) < 0.005
    # cumulative ranges in a fixed order would have moved v1's units too
    naive = _ab([40, 30, 30])
    assert sum(before.route(u).branch != naive.route(u).branch for u in UNITS[:20_000]) > 3000


def test_delivery_file_round_trips_and_hand_written_weights_work() -> None:
    d = _ab([12.5, 87.5])
    assert parse(dump(d)) == d
    hand = parse(
        b'mode = "ab"\ntest = "t1"\n[[variant]]\nbranch = "a"\nweight = 70\n'
        b'[[variant]]\nbranch = "b"\nweight = 30\n'
    )
    assert [v.buckets for v in hand.variants] == [((0, 7000),), ((7000, 10_000),)]
    assert hand.control.branch == "a"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"mode = ", "not valid TOML"),
        (b'mode = "ramp"\n[[variant]]\nbranch = "a"\nweight = 100\n', "mode must be"),
        (b'test = "a b"\n[[variant]]\nbranch = "a"\nweight = 100\n', "test must be"),
        (b'mode = "ab"\n', "at least one [[variant]]"),
        (
            b'[[variant]]\nbranch = "a"\nweight = 60\n[[variant]]\nbranch = "b"\nweight = 30\n',
            "sum to 90",
        ),
        (
            b'[[variant]]\nbranch = "a"\nweight = 100\n[[variant]]\nbranch = "a"\nweight = 0\n',
            "listed twice",
        ),
        (
            b'[[variant]]\nbranch = "a"\nweight = 50\nbuckets = [[0, 6000]]\n'
            b'[[variant]]\nbranch = "b"\nweight = 50\nbuckets = [[6000, 10000]]\n',
            "its weight is 50",
        ),
        (
            b'[[variant]]\nbranch = "a"\nweight = 50\nbuckets = [[0, 5000]]\n'
            b'[[variant]]\nbranch = "b"\nweight = 50\nbuckets = [[4000, 9000]]\n',
            "cover 0 to",
        ),
        (b'[[variant]]\nbranch = "a"\nweight = "x"\n', "must be a number"),
        (b'[[variant]]\nbranch = "a"\nrole = "boss"\nweight = 100\n', "role must be"),
        (
            b'mode = "canary"\n[canary]\nsteps = [5, 1]\n[[variant]]\nbranch = "a"\nweight = 100\n',
            "rise strictly",
        ),
    ],
)
def test_bad_delivery_files_are_refused_with_a_reason(text: bytes, reason: str) -> None:
    with pytest.raises(BadInput) as info:
        parse(text)
    assert reason in str(info.value) and "\n" not in str(info.value)
