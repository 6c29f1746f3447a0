"""The drift log, ``monitoring/drift.csv``: read whole (:func:`parse_drift`) or live (DriftTail).

Two layouts; the header tells which (case-insensitive, whitespace-trimmed):

- long: ``timestamp,feature,metric,value[,threshold]`` (any column order; extra columns ignored)
- wide: ``timestamp,<feature>_<metric>,...`` (the metric is after the last underscore), with
  optional ``<feature>_<metric>_threshold`` columns; an empty cell means "not measured";
  unnamed columns are ignored

A point's threshold is its row's, else ``thresholds["feature.metric"]``, else
``thresholds["metric"]``, else none. A point over its threshold is an alert; NaN never is.
Metric names are lower-cased; feature names are kept as written. Stdlib only (no pandas):
commands that import this must stay fast. One physical line is one row.
"""

from __future__ import annotations

import csv
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from mlvc_tui.engine.errors import BadInput

__all__ = [
    "DRIFT_FORMATS",
    "DRIFT_PATH",
    "DriftPoint",
    "DriftReport",
    "DriftSeries",
    "DriftSummary",
    "DriftTail",
    "Form",
    "NoDriftLog",
    "parse_drift",
]

DRIFT_PATH = "monitoring/drift.csv"  # where a branch keeps its drift log
DRIFT_FORMATS = (
    "A drift log is CSV in long form (timestamp,feature,metric,value[,threshold]) "
    "or wide form (timestamp,<feature>_<metric>,...[,<feature>_<metric>_threshold])."
)


class NoDriftLog(BadInput):
    """A ref has no drift log we can read; ``reason`` is "missing", "storage" or "unreadable"."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


Form = Literal["long", "wide"]

MAX_ERRORS = 5  # bad-row reasons kept in a report
MAX_LINE = 1 << 20  # a longer unfinished line is not a drift log
_TIME_NAMES = ("timestamp", "time", "ts", "date", "datetime")
_LONG = ("feature", "metric", "value")
_LONG_HELP = "timestamp,feature,metric,value[,threshold]"
_Long = tuple[int, int, int, "int | None"]
_Col = tuple[int, str, str, "int | None"]
_Lookup = Callable[[str, str], "float | None"]


@dataclass(frozen=True, slots=True)
class DriftPoint:
    """One value of one metric of one feature at one time."""

    timestamp: str
    feature: str
    metric: str
    value: float
    threshold: float | None = None

    @property
    def alert(self) -> bool:
        """Over its threshold (NaN never is; +inf over a finite threshold is)."""
        return self.threshold is not None and self.value > self.threshold

    @property
    def valid(self) -> bool:
        """A finite value (NaN and infinities are invalid)."""
        return math.isfinite(self.value)


@dataclass(frozen=True, slots=True)
class DriftSeries:
    """One (feature, metric) over time, in file order.

    ``count``, ``alerts``, ``invalid``, ``max`` and ``latest`` cover every point read;
    ``points`` holds all of them from :func:`parse_drift`, only the window's from a DriftTail.
    """

    feature: str
    metric: str
    points: tuple[DriftPoint, ...]
    count: int
    alerts: int
    invalid: int  # NaN or infinite values
    max: float | None  # largest value that is not NaN; None when every value is NaN
    latest: DriftPoint  # the last row in the file

    @property
    def key(self) -> str:
        return f"{self.feature}.{self.metric}"

    @property
    def threshold(self) -> float | None:
        """The latest point's threshold."""
        return self.latest.threshold

    @property
    def alert(self) -> bool:
        """The latest value is over its threshold."""
        return self.latest.alert


@dataclass(frozen=True, slots=True)
class DriftSummary:
    """One line of a drift summary table."""

    feature: str
    metric: str
    latest: float
    max: float | None
    threshold: float | None
    alerts: int
    count: int
    alert: bool  # the latest value is over threshold


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Every series of a drift log, with counts of rows, alerts and rejected rows."""

    series: tuple[DriftSeries, ...]  # in order of first appearance
    rows: int  # data rows read (bad and blank rows not included)
    alerts: int  # points over threshold, over all series
    bad_rows: int
    errors: tuple[str, ...]  # the first few bad-row reasons, "line 7: ..."
    form: Form
    invalid: int = 0  # NaN or infinite values, over all series

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(sorted({s.feature for s in self.series}))

    def get(self, feature: str, metric: str) -> DriftSeries | None:
        metric = metric.lower()
        return next((s for s in self.series if (s.feature, s.metric) == (feature, metric)), None)

    def over_threshold(self) -> tuple[DriftSeries, ...]:
        """The series whose latest value is over its threshold."""
        return tuple(s for s in self.series if s.alert)

    def summary(self) -> tuple[DriftSummary, ...]:
        return tuple(
            DriftSummary(
                s.feature, s.metric, s.latest.value, s.max, s.threshold, s.alerts, s.count, s.alert
            )
            for s in self.series
        )


def parse_drift(data: bytes, thresholds: Mapping[str, float] | None = None) -> DriftReport:
    """Read a whole drift log. Raises BadInput for binary, non-UTF-8, empty or unknown files."""
    tail = DriftTail(thresholds, window=None)
    tail.feed(data)
    tail.finish()
    if tail.form is None:
        raise BadInput("drift log is empty")
    return tail.report()


class _BadRow(Exception):
    """A data row that cannot be read; the message is the reason."""


class _Agg:
    """Running totals of one series."""

    __slots__ = ("alerts", "count", "invalid", "last", "max")

    def __init__(self, point: DriftPoint) -> None:
        self.count = self.alerts = self.invalid = 0
        self.max: float | None = None
        self.last = point


class DriftTail:
    """Incremental drift-log reader for a growing file, in bounded memory.

    ``feed`` takes appended bytes in any pieces (an unfinished last line waits for its newline;
    the header may come late) and returns the new points. Only the last ``window`` points are
    kept (``None``: all), plus exact per-series totals. Call ``reset`` when the file was
    truncated or replaced (or after a BadInput), and ``finish`` at end of file to read a last
    line with no newline.
    """

    def __init__(
        self, thresholds: Mapping[str, float] | None = None, window: int | None = 10_000
    ) -> None:
        if window is not None and window < 0:
            raise ValueError("window must be >= 0 or None")
        self.window = window
        self._thresholds = _normalise(thresholds)
        self.reset()

    def reset(self) -> None:
        """Forget everything read (the file was truncated or replaced)."""
        self._buf = b""
        self._line = 0
        self._schema: _Schema | None = None
        self._points: deque[DriftPoint] = deque(maxlen=self.window)
        self._aggs: dict[tuple[str, str], _Agg] = {}
        self._cache: dict[tuple[str, str], float | None] = {}
        self._errors: list[str] = []
        self.rows = 0
        self.bad_rows = 0

    @property
    def form(self) -> Form | None:
        """The layout, once the header has been read."""
        return self._schema.form if self._schema else None

    @property
    def points(self) -> tuple[DriftPoint, ...]:
        """The window: the most recent points, oldest first."""
        return tuple(self._points)

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(self._errors)

    def feed(self, chunk: bytes) -> list[DriftPoint]:
        """Read appended bytes; return the points of the lines they complete."""
        if b"\0" in chunk:
            raise BadInput("drift log is binary, not CSV text (it has NUL bytes)")
        buf = self._buf + chunk
        end = buf.rfind(b"\n") + 1
        if len(buf) - end > MAX_LINE:
            raise BadInput(f"drift log line {self._line + 1} is longer than {MAX_LINE} bytes")
        if not end:
            self._buf = buf
            return []
        text = self._decode(buf[:end])
        self._buf = buf[end:]
        return self._read(text[:-1].split("\n"))

    def finish(self) -> list[DriftPoint]:
        """End of file: read the last line even though it has no newline."""
        buf, self._buf = self._buf, b""
        return self._read([self._decode(buf)]) if buf else []

    def report(self) -> DriftReport:
        """What has been read so far (series points limited to the window)."""
        if self._schema is None:
            raise BadInput("drift log has no header yet")
        groups: dict[tuple[str, str], list[DriftPoint]] = {k: [] for k in self._aggs}
        for p in self._points:
            groups[p.feature, p.metric].append(p)
        series = tuple(
            DriftSeries(f, m, tuple(groups[f, m]), a.count, a.alerts, a.invalid, a.max, a.last)
            for (f, m), a in self._aggs.items()
        )
        return DriftReport(
            series,
            self.rows,
            sum(s.alerts for s in series),
            self.bad_rows,
            self.errors,
            self._schema.form,
            sum(s.invalid for s in series),
        )

    def _decode(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self._line + data.count(b"\n", 0, exc.start) + 1
            raise BadInput(f"drift log is not UTF-8 text (line {line})") from None

    def _read(self, lines: list[str]) -> list[DriftPoint]:
        out: list[DriftPoint] = []
        for line in lines:
            self._line += 1
            if self._line == 1:
                line = line.removeprefix("\ufeff")
            line = line.rstrip("\r")
            if not line.strip():
                continue
            if self._schema is None:
                self._schema = _Schema.read(_cells(line, header=True))
                continue
            try:
                points = self._schema.points(_cells(line), self._threshold)
            except _BadRow as exc:
                self.bad_rows += 1
                if len(self._errors) < MAX_ERRORS:
                    self._errors.append(f"line {self._line}: {exc}")
                continue
            self.rows += 1
            for p in points:
                self._add(p)
            out += points
        return out

    def _add(self, p: DriftPoint) -> None:
        agg = self._aggs.get((p.feature, p.metric))
        if agg is None:
            agg = self._aggs[p.feature, p.metric] = _Agg(p)
        agg.count += 1
        agg.last = p
        if p.alert:
            agg.alerts += 1
        v = p.value
        if not math.isfinite(v):
            agg.invalid += 1
        if v == v and (agg.max is None or v > agg.max):
            agg.max = v
        self._points.append(p)

    def _threshold(self, feature: str, metric: str) -> float | None:
        key = (feature, metric)
        if key not in self._cache:
            found = self._thresholds.get(f"{feature}.{metric}")
            self._cache[key] = self._thresholds.get(metric) if found is None else found
        return self._cache[key]


class _Schema:
    """A header, read once: which cells of a row make which points."""

    __slots__ = ("cols", "form", "long", "time", "width")

    def __init__(
        self, width: int, time: int, long: _Long | None = None, cols: tuple[_Col, ...] = ()
    ) -> None:
        self.form: Form = "long" if long else "wide"
        self.width = width
        self.time = time
        self.long = long  # cells of feature, metric, value, threshold
        self.cols = cols  # wide: (value cell, feature, metric, threshold cell) per column

    @classmethod
    def read(cls, cells: list[str]) -> _Schema:
        names = [c.lower() for c in cells]
        dup = next((n for i, n in enumerate(names) if n and n in names[:i]), None)
        if dup is not None:
            raise BadInput(f"drift log header names column {dup!r} twice")
        time = next((i for i, n in enumerate(names) if n in _TIME_NAMES), None)
        if time is None:
            raise BadInput(f"drift log header has no timestamp column: {','.join(cells)[:80]!r}")
        if set(names) & set(_LONG):
            missing = [n for n in _LONG if n not in names]
            if missing:
                raise BadInput(f"long-form drift log header ({_LONG_HELP}) lacks {missing[0]!r}")
            thr = names.index("threshold") if "threshold" in names else None
            f, m, v = (names.index(n) for n in _LONG)
            return cls(len(cells), time, long=(f, m, v, thr))
        limits = {
            n.removesuffix("_threshold"): i for i, n in enumerate(names) if n.endswith("_threshold")
        }
        cols: list[_Col] = []
        for i, cell in enumerate(cells):
            if i == time or not cell or names[i].endswith("_threshold"):
                continue  # unnamed columns (a pandas index) are ignored
            feature, _, metric = cell.rpartition("_")
            if not feature.strip() or not metric.strip():
                raise BadInput(
                    f"drift log header not recognised: column {cell!r} is neither "
                    f"<feature>_<metric> (wide form) nor long form ({_LONG_HELP})"
                )
            cols.append((i, feature.strip(), metric.strip().lower(), limits.pop(names[i], None)))
        if limits:
            base, i = next(iter(limits.items()))
            raise BadInput(f"drift log threshold column {cells[i]!r} has no column {base!r}")
        if not cols:
            raise BadInput("drift log header has a timestamp but no <feature>_<metric> column")
        return cls(len(cells), time, cols=tuple(cols))

    def points(self, cells: list[str], lookup: _Lookup) -> list[DriftPoint]:
        """The points of one data row; raises _BadRow."""
        if len(cells) != self.width:
            raise _BadRow(f"expected {self.width} fields, got {len(cells)}")
        stamp = cells[self.time]
        if not stamp:
            raise _BadRow("empty timestamp")
        if self.long:
            f, m, v, t = self.long
            feature, metric = cells[f], cells[m].lower()
            if not feature or not metric:
                raise _BadRow("empty feature" if not feature else "empty metric")
            limit = _limit(cells[t], "threshold") if t is not None else None
            if limit is None:
                limit = lookup(feature, metric)
            return [DriftPoint(stamp, feature, metric, _number(cells[v], "value"), limit)]
        out = []
        for i, feature, metric, t in self.cols:
            if cells[i]:
                name = f"{feature}_{metric}"
                value = _number(cells[i], name)
                limit = _limit(cells[t], f"{name}_threshold") if t is not None else None
                if limit is None:
                    limit = lookup(feature, metric)
                out.append(DriftPoint(stamp, feature, metric, value, limit))
        return out


def _cells(line: str, header: bool = False) -> list[str]:
    """One line's cells, trimmed; quotes only cost the csv module when present."""
    if '"' not in line:
        return [c.strip() for c in line.split(",")]
    try:
        return [c.strip() for c in next(csv.reader([line]))]
    except csv.Error as exc:
        if header:
            raise BadInput(f"drift log header is not valid CSV: {exc}") from None
        raise _BadRow(f"not valid CSV: {exc}") from None


def _number(cell: str, what: str) -> float:
    if not cell:
        raise _BadRow(f"empty {what}")
    try:
        return float(cell)
    except ValueError:
        raise _BadRow(f"{what} {cell[:40]!r} is not a number") from None


def _limit(cell: str, what: str) -> float | None:
    """A threshold cell: empty or NaN means none given."""
    if not cell:
        return None
    value = _number(cell, what)
    return None if math.isnan(value) else value


def _normalise(thresholds: Mapping[str, float] | None) -> dict[str, float]:
    """Threshold keys as looked up: "metric" or "feature.metric", metric lower-cased."""
    out: dict[str, float] = {}
    for key, value in (thresholds or {}).items():
        feature, dot, metric = str(key).strip().rpartition(".")
        name = f"{feature.strip()}.{metric.strip().lower()}" if dot else metric.strip().lower()
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BadInput(f"drift threshold {key!r} is not a number: {value!r}") from None
        if not math.isnan(number):
            out[name] = number
    return out
