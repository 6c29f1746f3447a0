"""Readable output of the delivery commands (rich; repository text shown literally)."""

from __future__ import annotations

import math

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mlvc_tui.cli.render import t
from mlvc_tui.engine import (
    ABReport,
    Delivery,
    DeliveryChange,
    DeliveryCommit,
    Verdicts,
    as_datetime,
)
from mlvc_tui.present import AB_GLYPHS as VERDICT_GLYPH
from mlvc_tui.present import commit_date as when
from mlvc_tui.present import left_out, number, plural

__all__ = ["render_change", "render_delivery", "render_report", "split_line", "verdict_text"]

VERDICT_STYLE = {
    Verdicts.WINNER: "green bold",
    Verdicts.LOSER: "red bold",
    Verdicts.WAIT: "yellow",
    Verdicts.FLAT: "dim",
    Verdicts.CONTROL: "dim",
}


def split_line(d: Delivery) -> Text:
    """``mode test: branch 90% · branch 10%``."""
    out = Text.assemble((d.mode.value, "bold"), " ", t(d.test), ": ")
    for i, v in enumerate(d.variants):
        if i:
            out.append(" · ")
        out.append_text(t(v.branch, "bold"))
        out.append(f" {v.weight:g}% ({v.role})")
    return out


def render_change(change: DeliveryChange) -> RenderableType:
    return Group(
        Text.assemble(
            ("committed ", "green"), change.commit[:8], "  ", t(change.message.split("\n", 1)[0])
        ),
        Text.assemble("now  ", split_line(change.after)),
        Text(f"{change.moved:g}% of units changed branch", style="dim"),
    )


def render_delivery(d: Delivery, log: tuple[DeliveryCommit, ...]) -> RenderableType:
    table = Table(
        box=box.SIMPLE_HEAD, pad_edge=False, title="who shifted traffic when", title_justify="left"
    )
    for col in ("commit", "date", "author", "change"):
        table.add_column(col, no_wrap=col != "change")
    for entry in log:
        c = entry.commit
        table.add_row(c.short_id, when(c), t(c.author.split(" <", 1)[0]), t(c.summary))
    started = f"  since {d.started}" if d.started else ""
    return Group(Text.assemble(split_line(d), (started, "dim")), table)


def verdict_text(verdict: str, needed: int | None) -> Text:
    """``▲ winner``, or ``… not enough data yet (~1,234 more per arm)``."""
    text = Text(f"{VERDICT_GLYPH.get(verdict, '')} {verdict}", VERDICT_STYLE.get(verdict, ""))
    if verdict == Verdicts.WAIT and needed:
        text.append(f" (~{needed:,} more per arm)", style="dim")
    return text


def _pct(value: float | None, binary: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.2%}" if binary else number(value)


def render_report(r: ABReport) -> RenderableType:
    d = r.delivery
    head = Text.assemble(
        split_line(d),
        "\n",
        f"outcome {r.outcome} (",
        "binary" if r.binary else "continuous",
        ", higher is better" if r.higher_is_better else ", lower is better",
        f"), α = {r.alpha:g} per comparison",
        style="",
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    for v in r.variants:
        table.add_column(t(v.branch), justify="right", no_wrap=True)
    rows: list[tuple[str, list[Text | str]]] = [
        ("role", [v.role for v in r.variants]),
        ("version", [t(v.version) for v in r.variants]),
        ("weight", [f"{v.weight:g}%" for v in r.variants]),
        ("count", [f"{v.count:,}" for v in r.variants]),
        ("mean", [_pct(v.mean, r.binary) for v in r.variants]),
        (
            "95% interval",
            [
                f"{_pct(v.interval.low, r.binary)} – {_pct(v.interval.high, r.binary)}"
                if v.count >= 2
                else "—"
                for v in r.variants
            ],
        ),
        (
            "vs control",
            [
                (
                    _pct(v.comparison.diff.estimate, r.binary)
                    if r.binary
                    else number(v.comparison.diff.estimate, signed=True)
                )
                if v.comparison
                else ""
                for v in r.variants
            ],
        ),
        ("p-value", [f"{v.comparison.p_value:.3g}" if v.comparison else "" for v in r.variants]),
        ("verdict", [verdict_text(v.verdict, v.needed) for v in r.variants]),
        ("error rate", [_pct(v.error_rate, True) for v in r.variants]),
        (
            "latency",
            [number(v.latency_mean) if v.latency_mean is not None else "—" for v in r.variants],
        ),
        (
            "drift alerts",
            [str(v.drift_alerts) if v.drift_alerts is not None else "—" for v in r.variants],
        ),
    ]
    for label, cells in rows:
        table.add_row(label, *cells)
    parts: list[RenderableType] = [head, table]
    if r.sample_ratio_p is not None:
        mismatch = r.sample_ratio_mismatch
        parts.append(
            Text(
                f"{'! sample ratio mismatch' if mismatch else 'sample ratio as expected'}: "
                f"counts against weights p = {r.sample_ratio_p:.3g}"
                + (
                    " — units are not split as delivery.toml says; distrust the verdicts"
                    if mismatch
                    else ""
                ),
                style="red bold" if mismatch else "dim",
            )
        )
    for v in r.variants:
        if v.problem:
            parts.append(Text.assemble(("! ", "red"), t(v.branch), ": ", t(v.problem)))
        if v.drifting:
            parts.append(
                Text.assemble(("drifting ", "yellow"), t(v.branch), ": ", t(", ".join(v.drifting)))
            )
        if v.bad_rows:
            parts.append(
                Text(f"{v.branch}: {plural(v.bad_rows, 'unreadable row')} skipped", style="yellow")
            )
        if v.outside:
            parts.append(t(left_out(v.branch, v.outside, d.test), "dim"))
    if r.bandit is not None:
        b = r.bandit
        parts.append(
            Text.assemble(
                ("bandit ", "bold"),
                "best in hindsight ",
                t(b.best, "bold"),
                f", cumulative regret {b.total_regret:.4g}; Thompson now suggests ",
                ", ".join(
                    f"{v.branch} {w:g}%" for v, w in zip(d.variants, b.suggested, strict=True)
                ),
            )
        )
        alloc = Table(
            box=box.SIMPLE_HEAD, pad_edge=False, title="allocation over time", title_justify="left"
        )
        alloc.add_column("from", no_wrap=True)
        for variant in d.variants:
            alloc.add_column(t(variant.branch), justify="right")
        for i, start in enumerate(b.bins):
            if all(math.isnan(b.allocation[v.branch][i]) for v in d.variants):
                continue  # no unit in this bin
            stamp = as_datetime(start).strftime("%m-%d %H:%M")
            alloc.add_row(stamp, *[_pct(b.allocation[v.branch][i] / 100, True) for v in d.variants])
        parts.append(alloc)
    return Group(*parts)
