"""Experiment results, ``monitoring/experiments/results.csv``: one row per served unit.

Columns are found by name (case-insensitive; any order; extra columns ignored):
a time (``timestamp``, ``time``, ``ts``, ``date``), a unit (``unit_id``, ``unit``,
``user_id``, ``user``), a ``variant`` (or ``arm``, ``group``), an outcome (``outcome``,
``reward``, ``converted``, ``conversion``, ``value``), and optionally ``latency_ms`` (or
``latency``), ``error`` (0/1, true/false) and ``test`` (or ``test_id``, ``experiment``: the
test a row belongs to). Rows that cannot be read are counted and the
first few reasons kept; they never stop the report. Stdlib only.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

from mlvc_tui.engine.errors import BadInput

__all__ = ["RESULTS_PATH", "Results", "parse_results", "when"]

RESULTS_PATH = "monitoring/experiments/results.csv"
_NAMES = {
    "time": ("timestamp", "time", "ts", "date", "datetime"),
    "unit": ("unit_id", "unit", "user_id", "user", "customer_id"),
    "variant": ("variant", "arm", "group"),
    "outcome": ("outcome", "reward", "converted", "conversion", "value"),
    "latency": ("latency_ms", "latency"),
    "error": ("error", "errors", "failed"),
    "test": ("test", "test_id", "experiment", "experiment_id"),
}
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no", "")
MAX_ERRORS = 5
_Cell = TypeVar("_Cell")


@dataclass(frozen=True, slots=True)
class Results:
    """The readable rows of one results file, column by column, in file order."""

    times: tuple[float, ...]  # POSIX seconds (NaN when the cell is not an ISO time)
    units: tuple[str, ...]
    variants: tuple[str, ...]
    outcomes: tuple[float, ...]
    latencies: tuple[float, ...]  # NaN where absent
    errors: tuple[int, ...]  # 0/1; all 0 without an error column
    outcome_name: str
    has_latency: bool
    has_error: bool
    bad_rows: int = 0
    problems: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()  # the test cell of each row ("" without a test column)
    has_test: bool = False
    outside: int = 0  # readable rows left out because they belong to another test

    def __len__(self) -> int:
        return len(self.units)

    def _pick(self, idx: list[int], outside: int = 0) -> Results:
        def pick(col: tuple[_Cell, ...]) -> tuple[_Cell, ...]:
            return tuple(col[i] for i in idx)

        return replace(
            self,
            times=pick(self.times),
            units=pick(self.units),
            variants=pick(self.variants),
            outcomes=pick(self.outcomes),
            latencies=pick(self.latencies),
            errors=pick(self.errors),
            tests=pick(self.tests) if self.tests else (),
            outside=self.outside + outside,
        )

    def only(self, keep: set[str]) -> Results:
        """The rows whose variant cell is in ``keep``."""
        return self._pick([i for i, v in enumerate(self.variants) if v in keep])

    def of_test(self, test: str | None, since: float | None, until: float | None = None) -> Results:
        """The rows of one test: timed at or after ``since`` (and before ``until``), and,
        when the file has a test column, whose test cell is ``test``. A row whose time
        cannot be read is left out when a time bound applies: it cannot be placed."""
        idx = []
        for i, t in enumerate(self.times):
            if test is not None and self.has_test and self.tests[i] != test:
                continue
            if since is not None and not t >= since:
                continue
            if until is not None and not t < until:
                continue
            idx.append(i)
        return self._pick(idx, len(self) - len(idx))


def when(cell: str) -> float:
    """POSIX seconds of an ISO time (UTC when it has no zone); NaN when it is not one."""
    try:
        stamp = datetime.fromisoformat(cell)
    except ValueError:
        return math.nan
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def _rows(reader: Iterator[list[str]]) -> Iterator[list[str] | csv.Error]:
    """The reader's rows; a row the csv module cannot read is given as its error."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield exc


def parse_results(data: bytes) -> Results:
    """Read a results file; BadInput when it is not one (binary, no header, no columns)."""
    if b"\0" in data:
        raise BadInput("results file is binary, not CSV text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"results file is not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))  # a bare \r ends a record, as in csv
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise BadInput(f"results header is not CSV: {exc}") from None
    if not header:
        raise BadInput("results file is empty")
    names = [h.strip().lower() for h in header]
    col: dict[str, int] = {}
    for role, options in _NAMES.items():
        found = next((names.index(o) for o in options if o in names), None)
        if found is not None:
            col[role] = found
    missing = [r for r in ("time", "unit", "variant", "outcome") if r not in col]
    if missing:
        raise BadInput(
            f"results header lacks a {missing[0]} column (expected e.g. "
            "timestamp,unit_id,variant,outcome[,latency_ms,error])"
        )
    times: list[float] = []
    units: list[str] = []
    variants: list[str] = []
    outcomes: list[float] = []
    latencies: list[float] = []
    errors: list[int] = []
    tests: list[str] = []
    bad, problems = 0, list[str]()
    lat, err, tcol = col.get("latency"), col.get("error"), col.get("test")
    for line, row in enumerate(_rows(reader), 2):
        if isinstance(row, list) and not any(c.strip() for c in row):
            continue
        try:
            if isinstance(row, csv.Error):
                raise ValueError(str(row))
            cells = row
            if len(cells) != len(header):
                raise ValueError(f"expected {len(header)} fields, got {len(cells)}")
            outcome = float(cells[col["outcome"]])
            if not math.isfinite(outcome):
                raise ValueError(f"outcome {cells[col['outcome']]!r} is not finite")
            unit, variant = cells[col["unit"]].strip(), cells[col["variant"]].strip()
            if not unit or not variant:
                raise ValueError("empty unit" if not unit else "empty variant")
            latency = float(cells[lat]) if lat is not None and cells[lat].strip() else math.nan
            flag = cells[err].strip().lower() if err is not None else ""
            if flag not in _TRUE + _FALSE:
                raise ValueError(f"error {flag!r} is not 0/1")
        except ValueError as exc:
            bad += 1
            if len(problems) < MAX_ERRORS:
                problems.append(f"line {line}: {str(exc)[:80]}")
            continue
        times.append(when(cells[col["time"]].strip()))
        units.append(unit)
        variants.append(variant)
        outcomes.append(outcome)
        latencies.append(latency)
        errors.append(int(flag in _TRUE))
        tests.append(cells[tcol].strip() if tcol is not None else "")
    return Results(
        tuple(times),
        tuple(units),
        tuple(variants),
        tuple(outcomes),
        tuple(latencies),
        tuple(errors),
        header[col["outcome"]].strip(),
        lat is not None,
        err is not None,
        bad,
        tuple(problems),
        tuple(tests),
        tcol is not None,
    )
