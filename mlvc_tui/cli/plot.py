"""`mlvc history METRIC --plot`: the metric along a branch as a plotext chart that fits the
terminal's width (no Textual: the command line stays light)."""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime

from mlvc_tui.engine import MetricPoint

__all__ = ["history_plot"]


def history_plot(
    metric: str,
    branch: str,
    points: Sequence[MetricPoint],
    *,
    width: int | None = None,
    color: bool = True,
) -> str:
    """The chart (oldest commit left), or one line saying why there is none."""
    kept = [
        p for p in reversed(points) if p.value is not None and math.isfinite(p.value)
    ]  # history is newest first
    if not kept:
        return f"no values of {metric} on {branch} to plot"
    size = shutil.get_terminal_size((80, 24))
    width = max(30, width or size.columns)
    height = max(8, min(20, size.lines - 3))

    import plotext as plt  # imported here: `mlvc grid --json` never pays for it

    fig = plt.figure
    fig.clear()
    fig.plot_size(width, height)
    fig.theme("default" if color else "colorless")
    fig.title(f"{metric} on {branch} · {len(kept)} commits, oldest left")
    xs = list(range(1, len(kept) + 1))
    fig.draw(fig.signal(xs, [p.value for p in kept], marker=plt.marker("braille")).lines())
    ticks = sorted({0, len(kept) // 3, 2 * len(kept) // 3, len(kept) - 1})
    fig.ruler("x").ticks(
        [xs[i] for i in ticks],
        [datetime.fromtimestamp(kept[i].commit.time, UTC).strftime("%m-%d") for i in ticks],
    )
    chart: str = fig.build().string(colorless=not color)
    fig.clear()
    return chart.rstrip("\n")
