"""What the live tail shows, built from what the engine read: lines, counts, chart data.

A :class:`Snapshot` is made on the lane's thread from a DriftFollow or LogFollow (which
only that thread touches) and handed to the UI, which never sees the followers themselves.
Every cell is built from ``visible()`` text: CSV cells and log lines are shown literally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from mlvc_tui import present
from mlvc_tui.engine import DriftFollow, DriftPoint, DriftReport, DriftSeries, LogFollow, LogLine
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import BAD, CHANGED
from mlvc_tui.widgets.metric_table import tone
from mlvc_tui.widgets.plot import ChartData, HLine, Series

__all__ = [
    "CHART_POINTS",
    "FEATURE_HEADER",
    "Snapshot",
    "drift_line",
    "feature_chart",
    "feature_rows",
    "log_line",
    "title_text",
]

FEATURE_HEADER = [("", 1), ("feature", 16), ("alerts", -7)]  # (label, width; < 0: right)
CHART_POINTS = 240  # the chart shows each series' newest points: it scrolls with the data


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Counts (and for a drift log, its series) after one read."""

    report: DriftReport | None = None  # drift: None until the header has been read
    lines: int = 0  # log: lines read
    errors: int = 0
    warnings: int = 0

    @classmethod
    def of_drift(cls, follow: DriftFollow) -> Snapshot:
        return cls(report=follow.report())

    @classmethod
    def of_log(cls, follow: LogFollow) -> Snapshot:
        return cls(lines=follow.count, errors=follow.errors, warnings=follow.warnings)

    def summary(self, no_color: bool) -> Text:
        """One line: rows, features, alerts per feature (a log: lines, errors, warnings)."""
        text = Text(no_wrap=True, overflow="ellipsis")
        bad = tone(f"bold {BAD}", no_color)
        report = self.report
        if report is None:
            if self.lines or self.errors or self.warnings:
                text.append(f"{_n(self.lines, 'line')} · ")
                text.append(_n(self.errors, "error"), bad if self.errors else "")
                text.append(f" · {_n(self.warnings, 'warning')}")
            else:
                text.append("no rows yet", "dim")
            return text
        text.append(f"{_n(report.rows, 'row')} · {_n(len(report.features), 'feature')} · ")
        text.append(_n(report.alerts, "alert"), bad if report.alerts else "")
        per = _alerts_per_feature(report)
        hot = sorted((n, f) for f, n in per.items() if n)[::-1][:3]
        if hot:
            text.append(" (" + ", ".join(f"{visible(f)} {n:,}" for n, f in hot) + ")", bad)
        if report.bad_rows:
            text.append(f" · {report.bad_rows:,} bad rows skipped", "dim")
        return text


def _alerts_per_feature(report: DriftReport) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in report.series:
        out[s.feature] = out.get(s.feature, 0) + s.alerts
    return out


def feature_rows(snap: Snapshot, no_color: bool) -> list[tuple[str, list[Text]]]:
    """(feature, cells) per feature in order of first appearance: mark, name, alerts."""
    report = snap.report
    if report is None:
        return []
    grouped: dict[str, list[DriftSeries]] = {}
    for s in report.series:
        grouped.setdefault(s.feature, []).append(s)
    out = []
    for feature, series in grouped.items():
        alerts = sum(s.alerts for s in series)
        hot = any(s.alert for s in series)
        mark, style = ("!", f"bold {BAD}") if hot else ("~", CHANGED) if alerts else ("", "")
        style = tone(style, no_color)
        out.append(
            (
                feature,
                [
                    Text(mark, style=style),
                    Text(visible(feature)[:16], style=style),
                    Text(f"{alerts:,}", style=style, justify="right"),
                ],
            )
        )
    return out


def _time(stamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return None


def feature_chart(snap: Snapshot, feature: str) -> ChartData:
    """The feature's series (up to four metrics): their newest CHART_POINTS points, so the
    chart scrolls as rows arrive, and their thresholds."""
    report = snap.report
    series = [s for s in report.series if s.feature == feature][:4] if report else []
    lines, limits, longest = [], {}, ()
    for s in series:
        points = s.points[-CHART_POINTS:]
        lines.append(
            Series(
                s.metric,
                tuple(float(i) for i in range(len(points))),
                tuple(p.value for p in points),
            )
        )
        if s.threshold is not None:
            limits.setdefault(s.threshold, f"{s.metric} {s.threshold:g}")
        longest = points if len(points) > len(longest) else longest
    times = tuple(_time(p.timestamp) for p in longest)
    return ChartData(
        feature,
        tuple(lines),
        tuple(HLine(label, y) for y, label in list(limits.items())[:2]),
        x_times=times if None not in times else (),
        empty="no finite values to plot yet",
    )


def title_text(path: str, head: str | None, branch: str | None, no_color: bool) -> Text:
    """The file and whose working tree it is (a warning when not the branch asked for)."""
    title = Text.assemble(("Live  ", "bold"), visible(path))
    title.append("  working tree" + (f" of {visible(head)}" if head else ""), style="dim")
    if branch and head and branch != head:
        title.append(
            f"  ({visible(branch)} is not checked out)", style=tone(f"bold {BAD}", no_color)
        )
    return title


def drift_line(p: DriftPoint, no_color: bool) -> Text:
    """One point: mark, time, feature, metric, value, and its threshold."""
    style = tone(f"bold {BAD}", no_color) if p.alert else ""
    text = Text(no_wrap=True, style=style)
    text.append("! " if p.alert else "  ")
    text.append(f"{visible(p.timestamp)[:25]:<26}")
    text.append(f"{visible(p.feature)[:18]:<19}{visible(p.metric)[:10]:<11}")
    text.append(f"{present.number(p.value):>10}")
    if p.threshold is not None:
        limit = f"  {'>' if p.alert else '≤'} {present.number(p.threshold)}"
        text.append(limit, style="" if p.alert else "dim")
    return text


def log_line(line: LogLine, no_color: bool) -> Text:
    """One log line: its number, a mark for errors (!) and warnings (~), the text."""
    style = {"error": f"bold {BAD}", "warning": CHANGED}.get(line.level, "")
    text = Text(no_wrap=True)
    text.append(f"{line.number:>7} ", style="dim")
    text.append({"error": "! ", "warning": "~ "}.get(line.level, "  "), tone(style, no_color))
    text.append(visible(line.text), style=tone(style, no_color) if line.level else "")
    return text


def _n(count: int, word: str) -> str:
    """``1 error``, ``2,000 errors``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"
