"""`delivery.toml` on prod: how live traffic is split between branches (docs/delivery.md).

One file, five modes: ``live`` (one branch serves everything; also what no file means),
``bluegreen`` (live and standby), ``canary`` (baseline and a candidate at a percentage,
with a step plan), ``ab`` (A/B/n: variants and weights) and ``bandit`` (variants whose
weights are set from observed rewards by Thompson sampling). Every mode is a list of
variants, each a branch with a weight in percent and the hash buckets it owns, so one
router (:meth:`Delivery.route`) serves them all. Stdlib only.
"""

from __future__ import annotations

import itertools
import math
import re
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mlvc_tui.engine.delivery.routing import (
    BUCKETS,
    Ranges,
    bucket,
    counts_from_weights,
    cumulative,
    owner,
    size,
)
from mlvc_tui.engine.errors import BadInput

__all__ = ["DELIVERY_PATH", "Delivery", "Mode", "Route", "Variant", "dump", "live", "parse"]

DELIVERY_PATH = "delivery.toml"
TEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ROLES = ("live", "standby", "baseline", "candidate", "control", "variant", "arm")


class Mode(StrEnum):
    """How traffic is split."""

    LIVE = "live"
    BLUEGREEN = "bluegreen"
    CANARY = "canary"
    AB = "ab"
    BANDIT = "bandit"


@dataclass(frozen=True, slots=True)
class Variant:
    """A branch serving ``weight`` percent of units: those whose bucket is in ``buckets``."""

    branch: str
    weight: float
    buckets: Ranges
    role: str = "variant"


@dataclass(frozen=True, slots=True)
class Route:
    """Which branch serves a unit, and why."""

    unit: str
    test: str
    mode: Mode
    bucket: int
    branch: str
    role: str
    weight: float


@dataclass(frozen=True, slots=True)
class Delivery:
    """The traffic split read from (or to be written to) `delivery.toml`."""

    mode: Mode
    test: str  # the salt of the sticky hash: a new test reshuffles units
    variants: tuple[Variant, ...]
    started: str = ""  # ISO time the test (or deployment) began
    steps: tuple[float, ...] = ()  # canary: the percentages `--step` walks through
    floor: float = 1.0  # bandit: the least weight an arm keeps, in percent
    commit: str | None = field(default=None, compare=False)  # prod commit it was read at

    def get(self, branch: str) -> Variant | None:
        return next((v for v in self.variants if v.branch == branch), None)

    def with_role(self, role: str) -> Variant | None:
        return next((v for v in self.variants if v.role == role), None)

    @property
    def control(self) -> Variant:
        """What the others are compared with: control, baseline or live, else the first."""
        for role in ("control", "baseline", "live"):
            if (found := self.with_role(role)) is not None:
                return found
        return self.variants[0]

    def route(self, unit: str) -> Route:
        """The branch that serves ``unit`` (sticky for the life of the test)."""
        point = bucket(self.test, unit)
        name = owner({v.branch: v.buckets for v in self.variants}, point)
        v = self.get(name)
        assert v is not None
        return Route(unit, self.test, self.mode, point, v.branch, v.role, v.weight)


def live(branch: str, test: str = "live", started: str = "") -> Delivery:
    """One branch serving everything (what a registry without `delivery.toml` does)."""
    return Delivery(Mode.LIVE, test, (Variant(branch, 100.0, ((0, BUCKETS),), "live"),), started)


def _fail(reason: str) -> BadInput:
    return BadInput(f"{DELIVERY_PATH}: {reason}")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(f"{where} must be a number")
    return float(value)


def _ranges(value: Any, where: str) -> Ranges:
    if not isinstance(value, list) or not all(
        isinstance(r, list) and len(r) == 2 and all(type(x) is int for x in r) for r in value
    ):
        raise _fail(f"{where} must be a list of [low, high) pairs of integers")
    return tuple((lo, hi) for lo, hi in value)


def parse(data: bytes, commit: str | None = None) -> Delivery:
    """Read `delivery.toml`; BadInput with the reason when it makes no sense."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _fail(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise _fail("nests too deep") from None
    try:
        mode = Mode(doc.get("mode", "live"))
    except ValueError:
        raise _fail(f"mode must be one of {', '.join(m.value for m in Mode)}") from None
    test = doc.get("test", "live")
    if not isinstance(test, str) or not TEST_ID.fullmatch(test):
        raise _fail("test must be 1-64 letters, digits, '.', '_' or '-'")
    rows = doc.get("variant", [])
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise _fail("needs at least one [[variant]] table")
    branches, weights, given = [], [], []
    for i, row in enumerate(rows, 1):
        branch = row.get("branch")
        if not isinstance(branch, str) or not branch:
            raise _fail(f"variant {i} needs a branch")
        if any(branch == b for b, _ in branches):
            raise _fail(f"branch {branch!r} is listed twice")
        role = row.get("role", "variant")
        if role not in ROLES:
            raise _fail(f"variant {branch!r}: role must be one of {', '.join(ROLES)}")
        weight = _number(row.get("weight"), f"variant {branch!r} weight")
        if weight < 0:
            raise _fail(f"variant {branch!r} weight must be at least 0")
        branches.append((branch, role))
        weights.append(weight)
        given.append(
            _ranges(row["buckets"], f"variant {branch!r} buckets") if "buckets" in row else None
        )
    if abs(sum(weights) - 100) > 1e-6:
        raise _fail(f"weights sum to {sum(weights):g}, not 100")
    counts = counts_from_weights(weights)
    if all(g is None for g in given):
        ranges = list(
            cumulative({b: c for (b, _), c in zip(branches, counts, strict=True)}).values()
        )
    elif any(g is None for g in given):
        raise _fail("either every variant has buckets or none does")
    else:
        ranges = [g for g in given if g is not None]
        _check_cover(branches, counts, ranges)
    steps = doc.get("canary", {}).get("steps", []) if isinstance(doc.get("canary"), dict) else []
    floor = doc.get("bandit", {}).get("floor", 1.0) if isinstance(doc.get("bandit"), dict) else 1.0
    variants = tuple(
        Variant(b, w, r, role) for (b, role), w, r in zip(branches, weights, ranges, strict=True)
    )
    return Delivery(
        mode,
        test,
        variants,
        str(doc.get("started", "")),
        check_steps(
            [_number(s, "canary.steps") for s in steps] if isinstance(steps, list) else [-1]
        ),
        _number(floor, "bandit.floor"),
        commit,
    )


def _check_cover(branches: list[tuple[str, str]], counts: list[int], ranges: list[Ranges]) -> None:
    seen = sorted(r for rs in ranges for r in rs)
    pos = 0
    for lo, hi in seen:
        if lo != pos or hi <= lo:
            raise _fail(f"buckets must cover 0 to {BUCKETS} once each (check near {pos})")
        pos = hi
    if pos != BUCKETS:
        raise _fail(f"buckets must cover 0 to {BUCKETS} once each (they stop at {pos})")
    for (branch, _), count, rs in zip(branches, counts, ranges, strict=True):
        if size(rs) != count:
            raise _fail(
                f"variant {branch!r}: its buckets hold {size(rs) / 100:g}% of "
                f"traffic but its weight is {count / 100:g}%"
            )


def check_steps(steps: list[float]) -> tuple[float, ...]:
    """A canary plan: percentages in (0, 100], strictly rising."""
    if any(not 0 < s <= 100 for s in steps) or any(b <= a for a, b in itertools.pairwise(steps)):
        raise BadInput("canary steps must rise strictly, each above 0 and at most 100")
    return tuple(steps)


def _q(text: str) -> str:
    """A TOML basic string."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", out) + '"'


def _num(value: float) -> str:
    """The shortest text that reads back as exactly ``value`` (33.333 stays 33.333)."""
    return repr(float(value)) if value != int(value) else f"{int(value)}.0"


def dump(d: Delivery) -> bytes:
    """The file's text: readable, and read back by :func:`parse` as the same Delivery."""
    lines = [
        "# How prod's traffic is split (docs/delivery.md). Written by `mlvc`: each change",
        "# is one commit, so `git log -p -- delivery.toml` shows who shifted traffic when.",
        f"mode = {_q(d.mode.value)}",
        f"test = {_q(d.test)}",
    ]
    if d.started:
        lines.append(f"started = {_q(d.started)}")
    if d.mode is Mode.CANARY:
        lines += ["", "[canary]", f"steps = [{', '.join(_num(s) for s in d.steps)}]"]
    if d.mode is Mode.BANDIT:
        lines += ["", "[bandit]", f"floor = {_num(d.floor)}"]
    for v in d.variants:
        spans = ", ".join(f"[{lo}, {hi}]" for lo, hi in v.buckets)
        lines += [
            "",
            "[[variant]]",
            f"branch = {_q(v.branch)}",
            f"role = {_q(v.role)}",
            f"weight = {_num(v.weight)}",
            f"buckets = [{spans}]",
        ]
    return ("\n".join(lines) + "\n").encode()
