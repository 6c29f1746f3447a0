"""The A/B report: each variant branch's results read from git, compared with the control.

Per variant: count, mean outcome and its 95 % interval, the difference against control
with its test and p-value (Bonferroni-corrected for A/B/n), a verdict, the observations
per arm still needed for 80 % power at the observed effect, the error rate, and the drift
alerts of the branch's own ``monitoring/drift.csv``. For bandits: the allocation over
time, the cumulative regret against the best arm in hindsight, and the Thompson weights
the data now suggests. Stdlib only; nothing is checked out.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlvc_tui.engine.delivery import stats as abstats
from mlvc_tui.engine.delivery.bandit import (
    ArmData,
    allocation_over_time,
    regret_curve,
    thompson_weights,
)
from mlvc_tui.engine.delivery.results import RESULTS_PATH, Results, parse_results, when
from mlvc_tui.engine.delivery.spec import Delivery, Mode
from mlvc_tui.engine.delivery.spec import parse as parse_delivery
from mlvc_tui.engine.delivery.traffic import (
    DeliveryChange,
    delivery_log,
    read_delivery,
    set_weights,
)
from mlvc_tui.engine.errors import MlvcError, RefNotFound, Refused

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = [
    "ABReport",
    "BanditReport",
    "TestWindow",
    "VariantReport",
    "Verdicts",
    "ab_report",
    "cumulative",
    "find_test",
    "rebalance",
]

MIN_COUNT = 100  # fewer observations in an arm: never a verdict
SRM_ALPHA = 0.001  # the usual threshold of a sample-ratio-mismatch alarm


class Verdicts:
    """The plain words of a verdict."""

    CONTROL = "control"
    WINNER = "winner"
    LOSER = "loser"
    WAIT = "not enough data yet"
    FLAT = "no difference"


@dataclass(frozen=True, slots=True)
class VariantReport:
    """One variant: its branch, its traffic, its numbers and what they mean."""

    branch: str
    role: str
    weight: float
    version: str  # the model's version tag, else its short blob id, else "—"
    count: int
    units: int  # distinct unit ids
    mean: float
    interval: abstats.Interval
    comparison: abstats.Comparison | None  # against control; None for control itself
    verdict: str
    needed: int | None  # more observations per arm for 80 % power; None: not applicable
    error_rate: float | None
    latency_mean: float | None
    drift_alerts: int | None  # points over threshold in the branch's drift log
    drifting: tuple[str, ...]  # series whose latest value is over threshold
    bad_rows: int
    problem: str | None  # why there are no numbers (no results file, unreadable)
    outside: int = 0  # rows of the file left out: before the test began, or another test's


@dataclass(frozen=True, slots=True)
class BanditReport:
    """How a bandit did: allocation per time bin, regret, and what Thompson suggests now."""

    bins: tuple[float, ...]  # POSIX start of each time bin
    allocation: dict[str, tuple[float, ...]]  # branch -> percent of units per bin
    regret: tuple[tuple[float, float], ...]  # (time, cumulative regret)
    best: str
    total_regret: float
    suggested: tuple[float, ...]  # Thompson weights now, in variant order


@dataclass(frozen=True, slots=True)
class ABReport:
    """Every variant of the running test side by side."""

    delivery: Delivery
    outcome: str
    binary: bool
    higher_is_better: bool
    alpha: float  # per comparison
    variants: tuple[VariantReport, ...]
    timeline: tuple[float, ...]  # bin ends (POSIX) of the outcome-over-time chart
    running_means: dict[str, tuple[float, ...]]  # branch -> cumulative mean at each bin end
    bandit: BanditReport | None = None
    sample_ratio_p: float | None = None  # chi-square of counts against weights (see _srm)
    since: float | None = None  # POSIX time the test began (rows before it are left out)
    until: float | None = None  # POSIX time it ended (a finished test read with --test)

    @property
    def sample_ratio_mismatch(self) -> bool:
        """The counts are too far from the weights for chance: the split is broken."""
        return self.sample_ratio_p is not None and self.sample_ratio_p < SRM_ALPHA


RUNNING = (Mode.AB, Mode.BANDIT, Mode.CANARY)


@dataclass(frozen=True, slots=True)
class TestWindow:
    """A test as prod's `delivery.toml` history knows it: its split, and when it ran."""

    delivery: Delivery
    since: float | None  # its `started`, None when the file gives none
    until: float | None  # the time of the commit that ended it; None while it runs
    commit: str | None  # the newest prod commit that set its split


def find_test(reg: Registry, test: str, depth: int = 500) -> TestWindow:
    """The newest running split of ``test`` in prod's history; RefNotFound if none."""
    newer: float | None = None
    for entry in delivery_log(reg, depth):
        try:
            d = parse_delivery(reg.objects.blob(entry.blob)) if entry.blob else None
        except MlvcError:
            d = None
        if d is not None and d.test == test and d.mode in RUNNING:
            since = when(d.started) if d.started else math.nan
            return TestWindow(d, since if since == since else None, newer, entry.commit.id)
        newer = float(entry.commit.time)
    raise RefNotFound(f"no test named {test!r} in prod's delivery.toml history")


def _mine(results: Results, branch: str) -> Results:
    """The rows about ``branch``: named by branch or its last part, else a one-variant file."""
    names = {branch, branch.rsplit("/", 1)[-1]}
    hits = results.only(names)
    if len(hits) or len(set(results.variants)) != 1:
        return hits
    return results


def _version(reg: Registry, branch: str, tagged: dict[str, str]) -> str:
    path = reg.model_path(branch)
    if path is None:
        return "—"
    art = reg.artifacts(branch)[path]
    return tagged.get(art.id, art.id[:8])


def _tagged(reg: Registry) -> dict[str, str]:
    """Model artifact id -> the newest version tag that holds it."""
    out: dict[str, str] = {}
    for name, commit in sorted(reg.tags().items()):
        path = reg.model_path(commit)
        if path is not None and "@" in name:
            out[reg.artifacts(commit)[path].id] = name.split("@", 1)[1]
    return out


def _read(reg: Registry, branch: str, w: TestWindow) -> tuple[Results | None, str | None]:
    if reg.branch_tip(branch) is None:
        return None, f"no branch named {branch}"
    try:
        rows = _mine(parse_results(reg.read(branch, RESULTS_PATH)), branch)
        return rows.of_test(w.delivery.test, w.since, w.until), None
    except MlvcError as exc:
        text = str(exc)
        if text.startswith(RESULTS_PATH):
            return None, f"no {RESULTS_PATH} yet"
        return None, f"{RESULTS_PATH}: {text}"


def _arm(r: Results | None, binary: bool) -> ArmData:
    if r is None:
        return ArmData(0, 0.0, 0.0, binary)
    return ArmData(len(r), math.fsum(r.outcomes), math.fsum(y * y for y in r.outcomes), binary)


def cumulative(
    results: dict[str, Results], bins: int = 30
) -> tuple[tuple[float, ...], dict[str, tuple[float, ...]]]:
    """Bin ends over the whole time span, and each variant's running mean at each end."""
    known = [t for r in results.values() for t in r.times if t == t]
    if not known:
        return (), {}
    lo, hi = min(known), max(known)
    ends = tuple(lo + (hi - lo) * (b + 1) / bins for b in range(bins))
    out = {}
    for name, r in results.items():
        pairs = sorted((t, y) for t, y in zip(r.times, r.outcomes, strict=True) if t == t)
        means, total, j = [], 0.0, 0
        for end in ends:
            while j < len(pairs) and pairs[j][0] <= end + 1e-6:
                total += pairs[j][1]
                j += 1
            means.append(total / j if j else math.nan)
        out[name] = tuple(means)
    return ends, out


def _running(reg: Registry, at: str | None) -> TestWindow:
    d = read_delivery(reg, at)
    since = when(d.started) if d.started else math.nan
    return TestWindow(d, since if since == since else None, None, None)


def ab_report(
    reg: Registry, at: str | None = None, alpha: float = 0.05, test: str | None = None
) -> ABReport:
    """The report of the test in `delivery.toml` on prod (or at ``at``), or of the test
    named ``test`` (running or finished). Only that test's rows count: those timed at or
    after its start (and before its end), and of its id where the results name tests."""
    w = find_test(reg, test) if test is not None else _running(reg, at)
    d = w.delivery
    read = {v.branch: _read(reg, v.branch, w) for v in d.variants}
    found = {b: r for b, (r, _) in read.items() if r is not None}
    outcomes = [y for r in found.values() for y in r.outcomes]
    binary = bool(outcomes) and all(y in (0.0, 1.0) for y in outcomes)
    name = next((r.outcome_name for r in found.values()), "outcome")
    higher = reg.config.higher_is_better(name)
    per_test = alpha / max(1, len(d.variants) - 1)
    arms = {b: _arm(found.get(b), binary) for b in read}
    control = d.control.branch
    tagged = _tagged(reg)
    out = []
    for v in d.variants:
        r, problem = read[v.branch]
        arm = arms[v.branch]
        if binary:
            interval = abstats.wilson(round(arm.total), arm.n)
        else:
            interval = abstats.mean_interval(arm.mean, arm.var, arm.n)
        comparison, verdict, needed = None, Verdicts.CONTROL, None
        if v.branch != control:
            comparison, verdict, needed = _judge(arms[control], arm, binary, higher, per_test)
        drift = _drift(reg, v.branch)
        out.append(
            VariantReport(
                v.branch,
                v.role,
                v.weight,
                _version(reg, v.branch, tagged) if reg.branch_tip(v.branch) else "—",
                arm.n,
                len(set(r.units)) if r else 0,
                arm.mean,
                interval,
                comparison,
                verdict,
                needed,
                (sum(r.errors) / len(r)) if r and r.has_error and len(r) else None,
                _mean([x for x in r.latencies if x == x]) if r and r.has_latency else None,
                drift[0],
                drift[1],
                r.bad_rows if r else 0,
                problem,
                r.outside if r is not None else 0,
            )
        )
    ends, running = cumulative(found)
    bandit = _bandit(d, found, arms, higher) if d.mode is Mode.BANDIT else None
    srm = None
    if (at is None or test is not None) and d.mode in (Mode.AB, Mode.CANARY):
        srm = _srm(reg, d, arms, w.commit)
    return ABReport(
        d, name, binary, higher, per_test, tuple(out), ends, running, bandit, srm, w.since, w.until
    )


def _srm(
    reg: Registry, d: Delivery, arms: dict[str, ArmData], newest: str | None = None
) -> float | None:
    """p of the counts given the weights, when the weights never changed during the test
    and every variant has results (else None: the expected split is not known). The
    history is read from ``newest`` (the commit that last set the split) back."""
    if any(arms[v.branch].n == 0 for v in d.variants if v.weight > 0):
        return None
    weights = [v.weight for v in d.variants]
    log = delivery_log(reg, 500 if newest else 100)
    if newest is not None:
        log = tuple(itertools.dropwhile(lambda e: e.commit.id != newest, log))
    for entry in log:
        if entry.blob is None:
            break
        try:
            old = parse_delivery(reg.objects.blob(entry.blob))
        except MlvcError:
            break
        if old.test != d.test:
            break
        if [v.weight for v in old.variants] != weights:
            return None
    total = sum(arms[v.branch].n for v in d.variants)
    chi2 = 0.0
    for v in d.variants:
        expected = total * v.weight / 100
        if expected > 0:
            chi2 += (arms[v.branch].n - expected) ** 2 / expected
        elif arms[v.branch].n:
            return 0.0  # units on a variant that should get none
    live = sum(1 for v in d.variants if v.weight > 0)
    return abstats.chi_square_sf(chi2, live - 1) if live > 1 else None


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _drift(reg: Registry, branch: str) -> tuple[int | None, tuple[str, ...]]:
    try:
        report = reg.drift(branch)
    except MlvcError:
        return None, ()
    return report.alerts, tuple(s.key for s in report.over_threshold())


def _judge(
    c: ArmData, v: ArmData, binary: bool, higher: bool, alpha: float
) -> tuple[abstats.Comparison | None, str, int | None]:
    if c.n < 2 or v.n < 2:
        return None, Verdicts.WAIT, None
    if binary:
        cmp = abstats.two_proportions(round(c.total), c.n, round(v.total), v.n)
        p1, p2 = c.mean, v.mean
        pooled = (c.total + v.total) / (c.n + v.n)
        need = abstats.needed_per_arm(
            p1 * (1 - p1), p2 * (1 - p2), p2 - p1, alpha, pooled_var=pooled * (1 - pooled)
        )
    else:
        cmp = abstats.welch(c.mean, c.var, c.n, v.mean, v.var, v.n)
        need = abstats.needed_per_arm(c.var, v.var, v.mean - c.mean, alpha)
    more = None if math.isinf(need) else max(0, math.ceil(need) - min(c.n, v.n))
    if min(c.n, v.n) < MIN_COUNT:
        return cmp, Verdicts.WAIT, max(more or 0, MIN_COUNT - min(c.n, v.n))
    if cmp.p_value < alpha:
        better = (cmp.diff.estimate > 0) == higher
        return cmp, Verdicts.WINNER if better else Verdicts.LOSER, 0
    if more is None or more == 0:
        return cmp, Verdicts.FLAT, more
    return cmp, Verdicts.WAIT, more


def _bandit(
    d: Delivery, found: dict[str, Results], arms: dict[str, ArmData], higher: bool
) -> BanditReport:
    times, names, ys = [], [], []
    for branch, r in found.items():
        times += r.times
        names += [branch] * len(r)
        ys += r.outcomes
    regret, best, total = regret_curve(times, names, ys, higher)
    bins, shares = allocation_over_time(times, names, [v.branch for v in d.variants])
    suggested = thompson_weights(
        [arms[v.branch] for v in d.variants], d.test, floor=d.floor, higher_is_better=higher
    )
    return BanditReport(bins, shares, regret, best, total, tuple(suggested))


def rebalance(reg: Registry) -> DeliveryChange:
    """Commit the bandit's Thompson-sampling weights for the results seen so far."""
    report = ab_report(reg)
    if report.bandit is None:
        raise Refused(
            "no bandit is running: start one with `mlvc ab start A B --bandit`; nothing was changed"
        )
    weights = report.bandit.suggested
    if weights == tuple(v.weight for v in report.delivery.variants):
        raise Refused(
            "the bandit's weights are already what the results suggest; nothing was changed"
        )
    counts = ", ".join(f"{v.branch} n={v.count}" for v in report.variants)
    return set_weights(reg, weights, f"Thompson sampling on {counts}.")
