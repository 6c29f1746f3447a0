"""A line chart drawn by plotext at the widget's size, for metric histories and drift series.

plotext draws into one global figure, so every build holds a lock. Its C core aborts the
process on NaN, so only finite values of a sane magnitude are ever handed to it. The first
line is a legend in our own text (it reads with NO_COLOR: each series has its own marker).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import plotext as plt
from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from mlvc_tui.safetext import visible

__all__ = ["ChartData", "HLine", "PlotChart", "Series", "plottable", "time_ticks"]

_LOCK = threading.Lock()
_TICK_FORMATS = ("%Y-%m-%d", "%m-%d", "%m-%d %H:%M", "%H:%M:%S")
_LIMIT = 1e15  # larger magnitudes break plotext's tick maths
_THEME = "mlvc"
MIN_WIDTH, MIN_HEIGHT = 20, 5
# (plotext marker, glyph for our legend, 256-colour code): distinct with and without colour
_SERIES_LOOK = (("braille", "⢕", 39), ("hd", "▚", 208), ("dot", "•", 141), ("x", "x", 250))
_HLINE_LOOK = ("-", "-", 196)

plt.terminal.limit(False, False)  # our size, not the terminal's
plt.add_theme(_THEME, text=244, grid=238, sequence=[c for _, _, c in _SERIES_LOOK])


def plottable(value: float | None) -> bool:
    """A value plotext can draw: finite and of a sane magnitude."""
    return value is not None and math.isfinite(value) and abs(value) < _LIMIT


def time_ticks(times: Sequence[datetime | None], count: int = 4) -> tuple[tuple[float, str], ...]:
    """Up to ``count`` evenly spaced x ticks (x = index) labelled by time, as short as
    tells them apart: month-day, with the hour when the points are close."""
    n = len(times)
    if n == 0 or count < 1:
        return ()
    spots = (
        range(n) if n <= count else {round(i * (n - 1) / max(count - 1, 1)) for i in range(count)}
    )
    picks = [i for i in sorted(spots) if times[i] is not None]
    known = [t for t in times if t is not None]
    if not picks:
        return ()
    if len({t.date() for t in known}) == 1:
        formats: tuple[str, ...] = ("%H:%M", "%H:%M:%S")
    elif (max(known) - min(known)).days > 300:
        formats = _TICK_FORMATS
    else:
        formats = _TICK_FORMATS[1:]
    for fmt in formats:
        labels = [t.strftime(fmt) for i in picks if (t := times[i]) is not None]
        if len(set(labels)) == len(labels) or fmt == formats[-1]:
            break
    return tuple((float(i), label) for i, label in zip(picks, labels, strict=True))


@dataclass(frozen=True, slots=True)
class Series:
    """One line: points (x, y) in x order; unplottable points are dropped when drawn."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class HLine:
    """A horizontal line across the chart, e.g. a threshold."""

    label: str
    y: float


@dataclass(frozen=True, slots=True)
class ChartData:
    """What to draw: a title, lines, horizontal lines and optional x tick labels."""

    title: str
    series: tuple[Series, ...] = ()
    hlines: tuple[HLine, ...] = ()
    x_ticks: tuple[tuple[float, str], ...] = ()
    x_times: tuple[datetime | None, ...] = ()  # x = index: ticks labelled by these times
    empty: str = "no values to plot"  # shown when nothing is plottable
    notes: tuple[str, ...] = field(default=())  # extra legend items, e.g. "2 NaN skipped"


class PlotChart(Widget):
    """Shows a ChartData; rebuilds only when the data or the size changes."""

    DEFAULT_CSS = """
    PlotChart { height: 1fr; min-height: 6; }
    """

    def __init__(
        self, *, message: str = "", id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._data: ChartData | None = None
        self._message = message
        self._cache: tuple[tuple[object, ...], Text] | None = None

    @property
    def data(self) -> ChartData | None:
        return self._data

    def show(self, data: ChartData) -> None:
        """Draw ``data``."""
        self._data, self._message, self._cache = data, "", None
        self.refresh()

    def show_message(self, message: str) -> None:
        """Show a line of text (loading, an error) instead of a chart."""
        self._data, self._message, self._cache = None, message, None
        self.refresh()

    def render(self) -> RenderableType:
        """Called when the widget is drawn: the chart, cached per size and data."""
        width, height = self.content_size
        no_color = self.app.no_color
        if self._data is None:
            return Text(visible(self._message), style="dim")
        key = (width, height, no_color, id(self._data))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        text = self._legend(self._data, no_color)
        body = draw(self._data, width, height - 1, no_color)
        text.append("\n")
        text.append_text(body)
        self._cache = (key, text)
        return text

    @staticmethod
    def _legend(data: ChartData, no_color: bool) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(visible(data.title), style="bold")
        items = [
            (s.label, _SERIES_LOOK[i % len(_SERIES_LOOK)]) for i, s in enumerate(data.series)
        ] + [(h.label, _HLINE_LOOK) for h in data.hlines]
        for label, (_, glyph, colour) in items:
            text.append("  ")
            text.append(glyph, style=None if no_color else Style(color=f"color({colour})"))
            text.append(" " + visible(label))
        for note in data.notes:
            text.append(f"  ({visible(note)})", style="dim")
        return text


def draw(data: ChartData, width: int, height: int, no_color: bool = False) -> Text:
    """The chart as text of at most ``width`` × ``height`` cells (a message when it cannot)."""
    lines = []
    for series in data.series:
        pts = [
            (x, y)
            for x, y in zip(series.x, series.y, strict=False)
            if plottable(x) and plottable(y)
        ]
        lines.append(_thin(pts, max(2 * width, 16)))
    hlines = [h for h in data.hlines if plottable(h.y)]
    if not any(lines):
        return Text(visible(data.empty), style="dim")
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return Text("(too small for a chart)", style="dim")
    xs = [x for pts in lines for x, _ in pts]
    lo, hi = min(xs), max(xs)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    try:
        with _LOCK:
            out = _build(data, lines, hlines, (lo, hi), width, height, no_color)
    except Exception as exc:  # plotext's own maths failing on odd data: say so, never crash
        return Text(f"(cannot draw this chart: {type(exc).__name__})", style="dim")
    return Text(out, no_wrap=True) if no_color else Text.from_ansi(out, no_wrap=True)


def _build(
    data: ChartData,
    lines: list[list[tuple[float, float]]],
    hlines: list[HLine],
    xrange: tuple[float, float],
    width: int,
    height: int,
    no_color: bool,
) -> str:
    fig = plt.figure
    fig.clear()
    fig.plot_size(width, height)
    fig.theme("colorless" if no_color else _THEME)
    fig.legend(False)
    for i, pts in enumerate(lines):
        if not pts:
            continue
        look = _marker(_SERIES_LOOK[i % len(_SERIES_LOOK)], no_color)
        fig.draw(fig.signal([x for x, _ in pts], [y for _, y in pts], marker=look).lines())
    for h in hlines:
        fig.draw(
            fig.signal(list(xrange), [h.y, h.y], marker=_marker(_HLINE_LOOK, no_color)).lines()
        )
    ticks = list(data.x_ticks)
    if data.x_times:
        widest = 11 if any(t and t.hour + t.minute for t in data.x_times) else 5
        ticks += time_ticks(data.x_times, max(2, min(6, (width - 8) // (widest + 6))))
    ticks = [(x, label) for x, label in ticks if xrange[0] <= x <= xrange[1]]
    if ticks:
        fig.ruler("x").ticks([x for x, _ in ticks], [visible(label) for _, label in ticks])
    out = str(fig.build().string(colorless=no_color))
    fig.clear()
    return out.rstrip("\n")


def _thin(pts: list[tuple[float, float]], buckets: int) -> list[tuple[float, float]]:
    """At most ``2 * buckets`` points: each bucket's lowest and highest, in x order, so
    spikes (alerts) survive and plotext draws what the screen can show."""
    if len(pts) <= 2 * buckets:
        return pts
    size = len(pts) / buckets
    out: list[tuple[float, float]] = []
    for b in range(buckets):
        chunk = pts[int(b * size) : int((b + 1) * size)]
        if chunk:
            lo, hi = min(chunk, key=lambda p: p[1]), max(chunk, key=lambda p: p[1])
            out.extend(sorted({lo, hi}))
    return out


def _marker(look: tuple[str, str, int], no_color: bool) -> plt.marker:
    name, _, colour = look
    return plt.marker(name) if no_color else plt.marker(name, plt.pixel(foreground=colour))
