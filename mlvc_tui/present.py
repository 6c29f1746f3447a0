"""One presentation for both faces: how a size, a number, a delta, a date or a verdict reads.

Pure functions over plain values, returning plain strings (no Rich, no Textual), used by
the CLI's tables and by the app's widgets and screens alike, so a value prints the same
way wherever a user meets it. Colours stay with each face; glyphs and words live here,
because they carry the meaning on their own (NO_COLOR).
"""

from __future__ import annotations

import math
from datetime import datetime

from mlvc_tui.engine import ArtifactStatus, Branch, CommitInfo, Storage, Verdict, as_datetime

__all__ = [
    "AB_GLYPHS",
    "KIND_WORDS",
    "STATUS_GLYPHS",
    "STATUS_WORDS",
    "VERDICT_GLYPHS",
    "VERDICT_WORDS",
    "commit_date",
    "delta",
    "left_out",
    "number",
    "relative",
    "relative_time",
    "size",
    "storage_mark",
    "sync_mark",
    "utc_date",
    "verdict_label",
]

# An artifact's status against prod: one glyph each (None: on neither side).
STATUS_GLYPHS: dict[ArtifactStatus | None, str] = {
    ArtifactStatus.SAME: "=",
    ArtifactStatus.CHANGED: "~",
    ArtifactStatus.NEW: "+",
    ArtifactStatus.MISSING: "-",
    ArtifactStatus.MODIFIED: "*",
    None: "·",
}
STATUS_WORDS: dict[ArtifactStatus | None, str] = {
    ArtifactStatus.SAME: "same",
    ArtifactStatus.CHANGED: "changed",
    ArtifactStatus.NEW: "new",
    ArtifactStatus.MISSING: "missing",
    ArtifactStatus.MODIFIED: "uncommitted",
    None: "absent",
}
# A metric's verdict against prod.
VERDICT_GLYPHS: dict[Verdict, str] = {
    Verdict.BETTER: "↑",
    Verdict.WORSE: "↓",
    Verdict.SAME: "=",
    Verdict.NEW: "+",
    Verdict.MISSING: "-",
    Verdict.INVALID: "?",
}
VERDICT_WORDS: dict[Verdict, str] = {
    Verdict.BETTER: "better",
    Verdict.WORSE: "worse",
    Verdict.SAME: "same",
    Verdict.NEW: "new",
    Verdict.MISSING: "missing",
    Verdict.INVALID: "NaN",
}
# An A/B verdict (the plain words of ``engine.delivery.report.Verdicts``).
AB_GLYPHS: dict[str, str] = {
    "winner": "▲",
    "loser": "▼",
    "not enough data yet": "…",
    "no difference": "=",
    "control": "·",
}
# What a version entry on prod records, as a past-tense verb.
KIND_WORDS: dict[str, str] = {"promotion": "promoted", "rollback": "rolled back", "tag": "tagged"}

_SIZE_UNITS = ("B", "kB", "MB", "GB", "TB")


def size(n: int | None) -> str:
    """Bytes in decimal units, like git-lfs: 71,270 bytes is ``71.3 kB``; None is ``—``."""
    if n is None:
        return "—"
    value = float(n)
    for unit in _SIZE_UNITS:
        if value < 1000 or unit == _SIZE_UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover - the loop always returns


def number(value: float | None, *, signed: bool = False, missing: str = "—") -> str:
    """A metric value: 4 decimals (1,000 and up: 1), very large or small ones in 3
    significant digits, NaN and infinities spelled out; ``missing`` for None."""
    if value is None:
        return missing
    sign = "+" if signed and value > 0 else ""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return sign + ("inf" if value > 0 else "-inf")
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{sign}{value:.3g}"
    return f"{sign}{value:.4f}" if abs(value) < 1000 else f"{sign}{value:.1f}"


def delta(value: float | None) -> str:
    """A change against prod: ``+0.0200``, ``-1.5000``, ``0`` for none, ``""`` for no delta."""
    if value is None:
        return ""
    return "0" if value == 0 else number(value, signed=True)


def relative(value: float | None) -> str:
    """A relative change: ``+2.3%``; a hundredfold or more as ``+120×``; ``""`` for none."""
    if value is None:
        return ""
    return f"{value:+.1%}" if abs(value) < 100 else f"{value:+.3g}×"


def plural(count: int, word: str) -> str:
    """``1 branch``, ``2 branches``, ``1 error``, ``6,750 rows``."""
    if count == 1:
        return f"{count} {word}"
    return f"{count:,} {word}{'es' if word.endswith(('s', 'sh', 'ch', 'x')) else 's'}"


def left_out(branch: str, rows: int, test: str) -> str:
    """Rows of a variant's results file an A/B report did not count, because they were
    written before the test began (or after it ended) or carry another test's id:
    ``ab/b: 6,750 rows of other tests left out (test fresh-test-1 only)``."""
    return f"{branch}: {plural(rows, 'row')} of other tests left out (test {test} only)"


def verdict_label(verdict: Verdict) -> str:
    """``↑ better`` and friends."""
    return f"{VERDICT_GLYPHS[verdict]} {VERDICT_WORDS[verdict]}"


def commit_date(commit: CommitInfo) -> str:
    """The author date in the author's own time zone: ``2026-09-29 14:05``."""
    return as_datetime(commit.time, commit.tz_offset).strftime("%Y-%m-%d %H:%M")


def utc_date(when: int) -> str:
    """POSIX seconds as ``2026-09-29 12:05 UTC``."""
    return as_datetime(when).strftime("%Y-%m-%d %H:%M UTC")


def relative_time(when: int, now: datetime) -> str:
    """POSIX seconds as ``3 days ago`` from ``now``."""
    seconds = int(now.timestamp()) - when
    if seconds < 0:
        return "in the future"
    for limit, unit, span in (
        (60, "second", 1),
        (3600, "minute", 60),
        (86400, "hour", 3600),
        (86400 * 30, "day", 86400),
        (86400 * 365, "month", 86400 * 30),
    ):
        if seconds < limit:
            n = seconds // span
            return "just now" if unit == "second" else f"{n} {unit}{'s' * (n != 1)} ago"
    n = seconds // (86400 * 365)
    return f"{n} year{'s' * (n != 1)} ago"


def storage_mark(storage: Storage) -> str:
    """A short marker for how an artifact is kept (``""`` for a plain blob)."""
    return {Storage.LFS: "LFS", Storage.SUBMODULE: "submodule"}.get(storage, "")


def sync_mark(branch: Branch) -> str:
    """A branch against its remote counterpart: ``↑2 ↓1``, ``(origin)`` when only there, or ""."""
    if branch.remote_only:
        return f"({branch.remote})"
    parts = []
    if branch.ahead:
        parts.append(f"↑{branch.ahead}")
    if branch.behind:
        parts.append(f"↓{branch.behind}")
    return " ".join(parts)
