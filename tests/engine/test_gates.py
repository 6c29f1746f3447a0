"""The metric gates as pure functions: directions, infinities, exact boundaries, and metrics
the candidate dropped; `[gates]` settings; and `evaluate` over one real registry. Every case
here let a wrong gate pass the older suite (many found by a mutation run, mutmut)."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

from mlvc_tui.engine.config import parse_config
from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.promotion.gates import GateSettings, approval_gate, evaluate, metric_gates
from mlvc_tui.engine.registry import Registry
from mlvc_tui.engine.values import Metrics
from tests.support.promote import CHECK, branch, metrics, toml, two_candidates

INF = math.inf
PLAIN = parse_config(None)


def run(
    target: dict[str, float],
    candidate: dict[str, float],
    primary: str = "accuracy",
    settings: GateSettings | None = None,
    config_text: bytes | None = None,
) -> dict[str, tuple[bool, str]]:
    config = parse_config(config_text) if config_text else PLAIN
    gates = metric_gates(
        settings or GateSettings(),
        config,
        primary,
        True,
        Metrics(dict(candidate)),
        Metrics(dict(target)),
        "prod",
    )
    return {g.name: (g.passed, g.reason) for g in gates}


@pytest.mark.parametrize(
    ("primary", "before", "after", "passes"),
    [
        ("rmse", 0.30, 0.25, True),  # lower is better: a drop is a gain
        ("rmse", 0.30, 0.35, False),
        ("loss", 1.0, 1.0, True),  # not worse
        ("val_loss", 0.5, 0.6, False),
        ("accuracy", 0.8, 0.7, False),
        ("accuracy", 0.8, 0.81, True),
    ],
)
def test_primary_follows_the_metric_direction(
    primary: str, before: float, after: float, passes: bool
) -> None:
    passed, why = run({primary: before}, {primary: after}, primary)["primary"]
    assert passed is passes, why
    if not passes:
        assert "worse than prod" in why


def test_a_configured_direction_wins_over_the_name() -> None:
    text = b'[metrics.direction]\nloss = "higher"\n'
    assert run({"loss": 1.0}, {"loss": 2.0}, "loss", config_text=text)["primary"][0]
    assert not run({"loss": 2.0}, {"loss": 1.0}, "loss", config_text=text)["primary"][0]


@pytest.mark.parametrize(
    ("primary", "before", "after", "min_delta", "passes"),
    [
        ("accuracy", 0.5, 0.75, 0.25, True),  # exactly the minimum gain (exact in binary)
        ("accuracy", 0.5, 0.74, 0.25, False),
        ("rmse", 1.0, 0.75, 0.25, True),  # lower-is-better: a gain of exactly 0.25
        ("rmse", 1.0, 0.76, 0.25, False),
    ],
)
def test_min_delta_boundary(
    primary: str, before: float, after: float, min_delta: float, passes: bool
) -> None:
    got = run({primary: before}, {primary: after}, primary, GateSettings(min_delta=min_delta))
    assert got["primary"][0] is passes, got["primary"][1]


@pytest.mark.parametrize(
    ("key", "before", "after", "passes"),
    [
        ("slices.eu.accuracy", 0.75, 0.5, True),  # drops exactly the tolerance: passes
        ("slices.eu.accuracy", 0.75, 0.49, False),
        ("slices.eu.accuracy", 0.5, 0.9, True),  # a rise is never a drop
        ("slices.eu.rmse", 0.5, 0.75, True),  # lower is better: a rise of exactly 0.25
        ("slices.eu.rmse", 0.5, 0.76, False),
        ("slices.eu.rmse", 0.9, 0.1, True),  # a fall of rmse is a gain
    ],
)
def test_slice_drops_in_both_directions_and_the_exact_tolerance(
    key: str, before: float, after: float, passes: bool
) -> None:
    got = run(
        {"accuracy": 0.8, key: before},
        {"accuracy": 0.8, key: after},
        settings=GateSettings(slice_tolerance=0.25),
    )
    assert got["slices"][0] is passes, got["slices"][1]
    if not passes:
        assert got["slices"][1].startswith(f"{key} drops")


@pytest.mark.parametrize("bad", [INF, -INF, math.nan])
@pytest.mark.parametrize("primary", ["accuracy", "rmse"])
def test_infinities_never_pass_on_either_side(bad: float, primary: str) -> None:
    on_candidate = run({primary: 0.5}, {primary: bad}, primary)
    assert not on_candidate["finite"][0] and not on_candidate["primary"][0]
    on_target = run({primary: bad}, {primary: 0.5}, primary)
    assert not on_target["primary"][0]  # nothing to compare with: no pass by default
    slice_key = f"slices.eu.{primary}"
    sliced = run({"accuracy": 0.8, slice_key: 0.5}, {"accuracy": 0.8, slice_key: bad})
    assert not sliced["slices"][0] and not sliced["finite"][0]
    assert sliced["slices"][1] == f"{slice_key} is {bad}"


def test_a_dropped_metric_or_slice_fails_with_its_name() -> None:
    target = {"accuracy": 0.8, "f1": 0.7, "auc": 0.9, "slices.eu.accuracy": 0.8}
    fewer = run(target, {"accuracy": 0.9, "slices.eu.accuracy": 0.8})
    assert fewer["artifacts"] == (False, "the candidate lacks 2 metrics the target has: f1, auc")
    no_slices = run(target, {"accuracy": 0.9, "f1": 0.7, "auc": 0.9})
    assert no_slices["slices"] == (
        False,
        "the candidate lacks 1 metric the target has: slices.eu.accuracy",
    )
    more = {f"m{i}": 1.0 for i in range(14)}
    six = run(more | {"accuracy": 0.8}, {f"m{i}": 1.0 for i in range(6)} | {"accuracy": 0.9})
    assert (
        six["artifacts"][1] == "the candidate lacks 8 metrics the target has: m6, m7, m8 and 5 more"
    )
    extra = run({"accuracy": 0.8}, {"accuracy": 0.9, "slices.us.f1": 0.5})
    assert extra["slices"] == (True, "the target has no per-slice metrics")


def test_approvals_count_exactly() -> None:
    two = GateSettings(approvals=2)
    assert not approval_gate(two, ["A <a@x>"], "c" * 40).passed
    assert approval_gate(two, ["A <a@x>", "B <b@x>"], "c" * 40) == approval_gate(
        two, ["A <a@x>", "B <b@x>"], "c" * 40
    )
    assert approval_gate(two, ["A <a@x>", "B <b@x>"], "c" * 40).reason == "2 of 2 approvals: A, B"
    assert approval_gate(GateSettings(), [], "c" * 40).passed


def gates_of(
    target: dict[str, float],
    candidate: Metrics,
    has_model: bool = True,
    primary: str | None = "accuracy",
    settings: GateSettings | None = None,
) -> dict[str, tuple[bool, str]]:
    gates = metric_gates(
        settings or GateSettings(), PLAIN, primary, has_model, candidate, Metrics(target), "prod"
    )
    return {g.name: (g.passed, g.reason) for g in gates}


def test_every_artifacts_outcome_by_name_flag_and_reason() -> None:
    ok = Metrics({"accuracy": 0.9})
    assert gates_of({}, ok, has_model=False)["artifacts"] == (
        False,
        "no model: expected models/model.* or one file under models/",
    )
    broken = Metrics({}, {"metrics/model.json": "not JSON"})
    assert gates_of({}, broken)["artifacts"] == (False, "metrics/model.json unreadable: not JSON")
    assert gates_of({}, Metrics({}))["artifacts"] == (False, "no metrics under metrics/")
    assert gates_of({}, ok)["artifacts"] == (True, "model and 1 metrics")
    three = {"a": 1.0, "b": 1.0, "c": 1.0}
    assert gates_of(three | {"accuracy": 0.8}, ok)["artifacts"] == (
        False,
        "the candidate lacks 3 metrics the target has: a, b, c",
    )


def test_the_finite_gate_counts_the_rest() -> None:
    one = gates_of({}, Metrics({"accuracy": 0.9, "f1": INF}))["finite"]
    assert one == (False, "f1 is inf")
    two = gates_of({}, Metrics({"accuracy": math.nan, "f1": INF}))["finite"]
    assert two == (False, "accuracy is nan (and 1 more)")
    assert gates_of({}, Metrics({"accuracy": 0.9}))["finite"] == (
        True,
        "every metric is a finite number",
    )


def test_every_primary_outcome_by_flag_and_reason() -> None:
    none = gates_of({}, Metrics({"accuracy": 0.9}), primary=None)["primary"]
    assert none == (False, "no primary metric: set metrics.primary")
    lacks = gates_of({"accuracy": 0.8}, Metrics({"f1": 0.9}))["primary"]
    assert lacks == (False, "the candidate has no accuracy")
    first = gates_of({}, Metrics({"accuracy": 0.9}))["primary"]
    assert first == (True, "prod has no accuracy yet: 0.9")
    bad = gates_of({"accuracy": INF}, Metrics({"accuracy": 0.9}))["primary"]
    assert bad == (False, "accuracy is not a finite number")
    need = GateSettings(min_delta=0.25)
    short = gates_of({"accuracy": 0.5}, Metrics({"accuracy": 0.625}), settings=need)["primary"]
    assert short == (False, "accuracy 0.5 -> 0.625 (+0.125, needs at least +0.25)")
    enough = gates_of({"accuracy": 0.5}, Metrics({"accuracy": 0.75}), settings=need)["primary"]
    assert enough == (True, "accuracy 0.5 -> 0.75 (+0.25, min +0.25)")
    plain = gates_of({"accuracy": 0.5}, Metrics({"accuracy": 0.75}))["primary"]
    assert plain == (True, "accuracy 0.5 -> 0.75 (+0.25)")


def test_slices_nested_keys_ties_and_non_numbers_on_the_target() -> None:
    nested = {"accuracy": 0.8, "model.slices.eu.f1": 0.8}
    lost = gates_of(nested, Metrics({"accuracy": 0.8}))["slices"]
    assert lost == (False, "the candidate lacks 1 metric the target has: model.slices.eu.f1")
    two = {"accuracy": 0.8, "slices.a.f1": 0.8, "slices.b.f1": 0.8}
    worst = gates_of(two, Metrics({"accuracy": 0.8, "slices.a.f1": 0.75, "slices.b.f1": 0.5}))
    assert worst["slices"] == (False, "slices.b.f1 drops 0.3 (tolerance 0.05)")
    tie = gates_of(two, Metrics({"accuracy": 0.8, "slices.a.f1": 0.78, "slices.b.f1": 0.78}))
    assert tie["slices"] == (True, "2 slice metrics within 0.05, largest drop 0.02 (slices.a.f1)")
    flat = gates_of(two, Metrics({"accuracy": 0.8, "slices.a.f1": 0.8, "slices.b.f1": 0.9}))
    assert flat["slices"] == (True, "2 slice metrics within 0.05")
    inf_target = {"accuracy": 0.8, "slices.a.f1": INF, "slices.b.f1": 0.8}
    after = gates_of(inf_target, Metrics({"accuracy": 0.8, "slices.a.f1": 0.5, "slices.b.f1": 0.1}))
    assert after["slices"] == (False, "slices.b.f1 drops 0.7 (tolerance 0.05)")
    assert gates_of(
        inf_target, Metrics({"accuracy": 0.8, "slices.a.f1": -INF, "slices.b.f1": 0.8})
    )["slices"] == (False, "slices.a.f1 is -inf")


def test_approval_reasons_name_people_not_addresses() -> None:
    two = GateSettings(approvals=2)
    assert approval_gate(two, ["Ana <a@x>"], "abcdef0123" * 4) == approval_gate(
        two, ["Ana <a@x>"], "abcdef0123" * 4
    )
    got = approval_gate(two, ["Ana <a@x>"], "abcdef0123" * 4)
    assert (got.name, got.passed) == ("approvals", False)
    assert got.reason == "1 of 2 approvals of abcdef01: Ana (mlvc approve BRANCH)"
    none = approval_gate(two, [], "abcdef0123" * 4)
    assert none.reason == "0 of 2 approvals of abcdef01 (mlvc approve BRANCH)"
    done = approval_gate(GateSettings(approvals=1), ["Ana <a@x> (recorded by Ben <b@x>)"], "c")
    assert (done.name, done.passed, done.reason) == (
        "approvals",
        True,
        "1 of 1 approvals: Ana (recorded by Ben)",
    )


# -- [gates] in mlvc.toml --------------------------------------------------------------------


def settings(text: str, target: str = "prod") -> GateSettings:
    return GateSettings.from_table(tomllib.loads(text), target)


def test_gate_settings_default_share_and_override_per_target() -> None:
    assert settings("") == GateSettings()
    text = "min_delta = 0.01\napprovals = 1\ncheck = 'python check.py'\n[prod]\napprovals = 2\n"
    prod, staging = settings(text), settings(text, "staging")
    assert (prod.approvals, prod.min_delta, prod.check) == (2, 0.01, "python check.py")
    assert (staging.approvals, staging.min_delta) == (1, 0.01)  # [prod] is not a gate
    every = settings(
        "min_delta = 1\nslice_tolerance = 0\napprovals = 0\nrequire_stage = 'staging'\n"
        "check = 'x'\ncheck_timeout = 2\n"
    )
    assert every == GateSettings(1.0, 0.0, 0, "staging", "x", 2.0)
    assert [type(v) for v in (every.min_delta, every.check_timeout, every.approvals)] == [
        float,
        float,
        int,
    ]
    assert settings("check_timeout = 0.5\n").check_timeout == 0.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("approvals = true\n", "mlvc.toml: gates.approvals must be a number"),
        ("approvals = 1.5\n", "mlvc.toml: gates.approvals must be a number"),
        ("min_delta = '0.1'\n", "mlvc.toml: gates.min_delta must be a number"),
        ("slice_tolerance = false\n", "mlvc.toml: gates.slice_tolerance must be a number"),
        ("check_timeout = 'long'\n", "mlvc.toml: gates.check_timeout must be a number"),
        ("check = 5\n", "mlvc.toml: gates.check must be a string"),
        ("require_stage = ['staging']\n", "mlvc.toml: gates.require_stage must be a string"),
        ("[prod]\ncheck = true\n", "mlvc.toml: gates.check must be a string"),
        ("approvals = -1\n", "mlvc.toml: gates.approvals must be >= 0 and check_timeout > 0"),
        ("check_timeout = 0\n", "mlvc.toml: gates.approvals must be >= 0 and check_timeout > 0"),
        (
            "aprovals = 2\nmin_dleta = 1\n",
            "mlvc.toml: unknown gate 'aprovals' (see docs/promotion.md)",
        ),
        ("prod = 5\n", "mlvc.toml: unknown gate 'prod' (see docs/promotion.md)"),
    ],
)
def test_wrong_gate_settings_are_bad_input_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(BadInput) as err:
        settings(text)
    assert str(err.value) == message


def test_rounding_noise_at_the_edge_is_not_a_drop() -> None:
    """A loss of exactly 1e-12 (float noise) is not worse, on the primary and on a slice
    with no tolerance at all."""
    noise = run({"accuracy": 1e-12}, {"accuracy": 0.0})["primary"]
    assert noise == (True, "accuracy 1e-12 -> 0 (-1e-12)")
    sliced = run(
        {"accuracy": 0.8, "slices.eu.accuracy": 1e-12},
        {"accuracy": 0.8, "slices.eu.accuracy": 0.0},
        settings=GateSettings(slice_tolerance=0),
    )["slices"]
    assert sliced == (True, "1 slice metrics within 0, largest drop 1e-12 (slices.eu.accuracy)")


# -- evaluate: the gates of a real registry --------------------------------------------------


def test_evaluate_judges_the_named_target_and_runs_changed_checks_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ben Okafor")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ben@example.com")
    r = two_candidates(tmp_path / "reg")
    branch(r, "staging", {"metrics/model.json": metrics(0.6)})
    with Registry.open(r.path) as reg:
        into_prod = {g.name: g.passed for g in evaluate(reg, "exp/worse")}
        into_staging = {g.name: g.passed for g in evaluate(reg, "exp/worse", "staging")}
    assert into_prod["primary"] is False and into_staging["primary"] is True
    r.commit("check", {"mlvc.toml": toml('check = "python src/check.py"\ncheck_timeout = 60')})
    branch(
        r, "exp/code", {"src/check.py": CHECK + "# faster\n", "metrics/model.json": metrics(0.9)}
    )
    with Registry.open(r.path) as reg:
        asked = {g.name: g for g in evaluate(reg, "exp/code", run_changed=True)}
        held = {g.name: g for g in evaluate(reg, "exp/code")}
    assert asked["check"].passed, asked["check"].reason
    assert not held["check"].passed and "src/check.py" in held["check"].reason
