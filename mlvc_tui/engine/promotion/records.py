"""The promotion record: what a promotion or rollback writes into its commit and its tag.

A record is a readable summary followed by one git trailer, ``Mlvc-Promotion:``, holding
the record as one line of JSON. The version list is read back from these trailers along the
target's history, so the history is the single source of truth and a tag is only an index.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from mlvc_tui.engine.timestamps import as_datetime

__all__ = ["TRAILER", "GateResult", "PromotionRecord", "parse_record", "render_message"]

TRAILER = "Mlvc-Promotion"
_PREFIX = TRAILER + ": "


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate's verdict: ``passed`` and a one-line ``reason`` either way."""

    name: str
    passed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class PromotionRecord:
    """Who moved which commit into which environment, as which version, and why it was let in.

    ``kind`` is "promotion" or "rollback". For a rollback ``source`` names the version
    restored (``model@v1.1.0``) and ``source_commit`` the commit that version was.
    ``metrics`` maps each changed metric to (target's value before, value after).
    """

    kind: str
    target: str
    source: str
    source_commit: str
    target_commit: str | None
    user: str
    time: int
    tz_offset: int = 0
    model: str | None = None
    version: str | None = None
    previous: str | None = None
    bump: str | None = None
    bump_reason: str = ""
    tag: str | None = None
    gates: tuple[GateResult, ...] = ()
    approvals: tuple[str, ...] = ()
    metrics: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    resolved: tuple[str, ...] = ()  # artifact conflicts settled with the candidate's side

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON data (non-finite numbers as strings)."""
        return {
            "kind": self.kind,
            "target": self.target,
            "source": self.source,
            "source_commit": self.source_commit,
            "target_commit": self.target_commit,
            "user": self.user,
            "time": self.time,
            "tz_offset": self.tz_offset,
            "model": self.model,
            "version": self.version,
            "previous": self.previous,
            "bump": self.bump,
            "bump_reason": self.bump_reason,
            "tag": self.tag,
            "gates": [{"name": g.name, "passed": g.passed, "reason": g.reason} for g in self.gates],
            "approvals": list(self.approvals),
            "metrics": {k: [_num_out(a), _num_out(b)] for k, (a, b) in self.metrics.items()},
            "resolved": list(self.resolved),
        }

    @property
    def iso_time(self) -> str:
        """The record's time in its own zone, ISO 8601."""
        return as_datetime(self.time, self.tz_offset).isoformat()


def _num_out(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _num_in(value: Any) -> float | None:
    if value is None:
        return None
    return float(value)  # float("NaN"), float("Infinity") read the strings back


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def render_message(record: PromotionRecord, primary: str | None) -> str:
    """The commit (and tag) message: a title, a readable summary, then the trailer."""
    name = record.tag or (f"v{record.version}" if record.version else None)
    if record.kind == "rollback":
        title = f"Roll back {record.target} to {record.source}"
    else:
        title = f"Promote {record.source} to {record.target}" + (f" as {name}" if name else "")
    lines = [title, ""]
    if primary and primary in record.metrics:
        a, b = record.metrics[primary]
        lines.append(f"{primary} {_fmt(a)} -> {_fmt(b)}")
    if record.kind == "rollback":
        lines.append(
            f"restores the model, metrics and data of {record.source} "
            f"({record.source_commit[:8]}), after {record.previous or 'no version'}"
        )
    if record.version and record.kind == "promotion":
        was = f"after {record.previous}" if record.previous else "first version"
        lines.append(f"version {record.version} ({record.bump}, {was}): {record.bump_reason}")
    if record.gates:
        lines.append(
            "gates: "
            + ", ".join(f"{g.name} {'ok' if g.passed else 'FAILED'}" for g in record.gates)
        )
    if record.approvals:
        lines.append("approved by " + ", ".join(record.approvals))
    if record.resolved:
        lines.append(
            f"conflicts settled with {record.source}'s side: " + ", ".join(record.resolved)
        )
    lines.append(f"by {record.user} at {record.iso_time}")
    payload = json.dumps(
        record.to_json(), separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return "\n".join([*lines, "", _PREFIX + payload]) + "\n"


def parse_record(message: str) -> PromotionRecord | None:
    """The record in a commit or tag message, or None when there is none (or it is broken)."""
    for line in reversed(message.splitlines()):
        if not line.startswith(_PREFIX):
            continue
        try:
            doc = json.loads(line[len(_PREFIX) :])
            return PromotionRecord(
                kind=str(doc["kind"]),
                target=str(doc["target"]),
                source=str(doc["source"]),
                source_commit=str(doc["source_commit"]),
                target_commit=doc.get("target_commit"),
                user=str(doc["user"]),
                time=int(doc["time"]),
                tz_offset=int(doc.get("tz_offset", 0)),
                model=doc.get("model"),
                version=doc.get("version"),
                previous=doc.get("previous"),
                bump=doc.get("bump"),
                bump_reason=str(doc.get("bump_reason", "")),
                tag=doc.get("tag"),
                gates=tuple(
                    GateResult(str(g["name"]), bool(g["passed"]), str(g["reason"]))
                    for g in doc.get("gates", ())
                ),
                approvals=tuple(str(a) for a in doc.get("approvals", ())),
                metrics={
                    str(k): (_num_in(v[0]), _num_in(v[1]))
                    for k, v in doc.get("metrics", {}).items()
                },
                resolved=tuple(str(p) for p in doc.get("resolved", ())),
            )
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError):
            return None
    return None
