"""Tables and JSON for `mlvc promote`, `rollback`, `approve` and `versions`."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, JustifyMethod
from rich.table import Table
from rich.text import Text

from mlvc_tui.cli.render import VERDICTS, t
from mlvc_tui.engine import (
    GtoState,
    MetricDiff,
    PromotionDone,
    PromotionPlan,
    RollbackPlan,
    VersionEntry,
    paths_summary,
    to_jsonable,
)
from mlvc_tui.present import KIND_WORDS, number
from mlvc_tui.present import commit_date as when

__all__ = [
    "done_json",
    "plan_json",
    "render_plan",
    "render_rollback",
    "render_versions",
    "rollback_json",
    "versions_json",
]


def _metric_rows(diff: MetricDiff, primary: str | None, limit: int = 12) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("metric", "left"),
        (diff.a, "right"),
        ("after", "right"),
        ("delta", "right"),
        ("", "left"),
    )
    for col, justify in columns:
        table.add_column(t(col), justify=justify, no_wrap=True)
    rows = [r for r in diff.rows if r.key == primary] + list(diff.changed)
    for row in list(dict.fromkeys(rows))[:limit]:
        label, style = VERDICTS[row.verdict]
        table.add_row(
            t(row.key, "bold" if row.key == primary else ""),
            number(row.a),
            number(row.b),
            Text(number(row.delta, signed=True), style),
            Text(label, style),
        )
    return table


def render_plan(plan: PromotionPlan) -> Group:
    """The gates, the version and the metric changes of a promotion."""
    head = Text.assemble(
        "Promote ",
        t(plan.branch, "bold"),
        f" ({plan.candidate.short_id}) into ",
        t(plan.target, "bold"),
    )
    if plan.version:
        head.append(f" as {plan.tag}  ({plan.bump}: ")
        head.append(t(plan.bump_reason))
        head.append(")")
    gates = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    gates.add_column("gate", no_wrap=True)
    gates.add_column("", no_wrap=True)
    gates.add_column("reason")
    for g in plan.gates:
        gates.add_row(
            g.name, Text("pass", "green") if g.passed else Text("FAIL", "red bold"), t(g.reason)
        )
    parts: list[Any] = [head, gates, _metric_rows(plan.diff, plan.primary)]
    parts.append(Text.assemble("replaces: ", t(paths_summary(plan.replaced, 8))))
    if plan.kept:
        parts.append(
            Text.assemble(
                "keeps ", t(plan.target), "'s own: ", t(paths_summary(plan.kept, 8)), style="dim"
            )
        )
    if plan.merge.resolved:
        parts.append(
            Text(
                "artifact conflicts taking the candidate's side: " + ", ".join(plan.merge.resolved),
                style="yellow",
            )
        )
    return Group(*parts)


def render_rollback(plan: RollbackPlan) -> Group:
    """What a rollback restores."""
    current = plan.current.version if plan.current else "—"
    head = Text.assemble(
        "Roll back ",
        t(plan.target, "bold"),
        f" from {current} to ",
        t(plan.to.tag or plan.to.version or "", "bold"),
        f" ({plan.to.commit.short_id}, {when(plan.to.commit)})",
    )
    parts: list[Any] = [head, Text.assemble("restores: ", t(", ".join(plan.changed)))]
    if plan.warning:
        parts.append(Text.assemble(("! rolling back ", "bold red"), t(plan.warning)))
    if plan.check is not None:
        mark = Text("pass", "green") if plan.check.passed else Text("FAIL", "red bold")
        parts.append(Text.assemble("check ", mark, "  ", t(plan.check.reason)))
    parts.append(_metric_rows(plan.diff, plan.primary))
    return Group(*parts)


def render_versions(entries: tuple[VersionEntry, ...], gto: GtoState | None = None) -> Any:
    """Every promotion and rollback, newest first; then what GTO's tags say, if anything."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    primary = next((e.primary for e in entries if e.primary), None) or "metric"
    staged = any(e.stages for e in entries)  # a column only when GTO's tags name a stage
    cols = ("version", *(("stage",) if staged else ()), "what", "from", "commit", "date", "who")
    for col in (*cols, primary, "Δ"):
        table.add_column(t(col), no_wrap=True, justify="right" if col in (primary, "Δ") else "left")
    for e in entries:
        what = KIND_WORDS[e.kind]
        rolled = e.kind == "rollback"
        tag = (e.source if rolled else e.tag) or (f"v{e.version}" if e.version else "—")
        mark = "" if e.tagged or not e.tag else " (tag missing)"
        source = e.source or (e.source_commit[:8] if e.source_commit else "—")
        if rolled:
            source = f"v{e.record.previous}" if e.record and e.record.previous else "—"
        table.add_row(
            t(tag + mark, "bold" if e.kind == "promotion" else ""),
            *((t(", ".join(e.stages), "bold"),) if staged else ()),
            what,
            t(source),
            e.commit.short_id,
            when(e.commit),
            t(e.user.split(" <", 1)[0]),
            number(e.value),
            number(e.delta, signed=True),
        )
    if gto is None or not (gto.stages or gto.deregistered or gto.deprecated):
        return table
    said = [
        f"{stage} v{v}" if v else f"{stage} {gto.commits.get(stage, '')[:7]} (no version)"
        for stage, v in gto.stages.items()
    ]
    if gto.deregistered:
        said.append("deregistered " + ", ".join(f"v{v}" for v in sorted(gto.deregistered)))
    if gto.deprecated:
        said.append("the model is deprecated")
    return Group(table, Text.assemble(("GTO stages: ", "dim"), t("; ".join(said))))


def _gates(plan: PromotionPlan) -> list[dict[str, Any]]:
    return [{"name": g.name, "passed": g.passed, "reason": g.reason} for g in plan.gates]


def plan_json(plan: PromotionPlan) -> dict[str, Any]:
    """A promotion plan as plain data (what --json prints)."""
    m = plan.merge
    return {
        "branch": plan.branch,
        "target": plan.target,
        "commit": plan.candidate.id,
        "target_commit": plan.target_commit,
        "ok": plan.ok,
        "gates": _gates(plan),
        "version": plan.version,
        "previous": plan.previous,
        "bump": plan.bump,
        "bump_reason": plan.bump_reason,
        "tag": plan.tag,
        "approvals": list(plan.approvals),
        "check_changes": list(plan.check_changes),  # files the check runs that it changes
        "replaced": list(plan.replaced),
        "kept": list(plan.kept),
        "merge": {
            "base": m.base,
            "fast_forward": m.fast_forward,
            "conflicts": list(m.conflicts),
            "resolved": list(m.resolved),
        },
        "metrics": to_jsonable(plan.diff.rows),
        "done": False,
    }


def rollback_json(plan: RollbackPlan) -> dict[str, Any]:
    """A rollback plan as plain data."""
    return {
        "target": plan.target,
        "target_commit": plan.target_commit,
        "from": plan.current.version if plan.current else None,
        "to": plan.to.version,
        "to_commit": plan.to.commit.id,
        "restores": list(plan.changed),
        "check": (
            {"passed": plan.check.passed, "reason": plan.check.reason} if plan.check else None
        ),
        "crosses_major": plan.crosses_major,
        "skipped": list(plan.skipped),
        "warning": plan.warning,
        "metrics": to_jsonable(plan.diff.rows),
        "done": False,
    }


def done_json(base: dict[str, Any], done: PromotionDone) -> dict[str, Any]:
    """A plan's data once it happened."""
    return {
        **base,
        "done": True,
        "new_commit": done.commit,
        "tag_written": done.tag,
        "stage_tags": list(done.stage_tags),  # GTO's, written with it
        "repaired": list(done.repaired),
        "record": done.record.to_json(),
    }


def versions_json(
    entries: tuple[VersionEntry, ...], repaired: tuple[str, ...], gto: GtoState | None = None
) -> dict[str, Any]:
    """The version list as plain data (and what GTO's tags say: stages, deregistrations)."""
    return {
        "gto": {
            "stages": dict(gto.stages),
            "deregistered": sorted(gto.deregistered),
            "deprecated": gto.deprecated,
            "commits": dict(gto.commits),
        }
        if gto
        else None,
        "versions": [
            {
                "kind": e.kind,
                "version": e.version,
                "tag": e.tag,
                "tagged": e.tagged,
                "source": e.source,
                "source_commit": e.source_commit,
                "commit": e.commit.id,
                "time": e.time,
                "user": e.user,
                "primary": e.primary,
                "value": to_jsonable(e.value),
                "delta": to_jsonable(e.delta),
                "record": e.record.to_json() if e.record else None,
                "stages": list(e.stages),
            }
            for e in entries
        ],
        "repaired": list(repaired),
    }
