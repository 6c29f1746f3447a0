"""Git timestamps as datetimes, for any value git accepts.

Git stores seconds since 1970 and a ``+HHMM`` offset as written: fsck-clean commits may say
``+9959`` (more than a day, which ``datetime.timezone`` refuses) or be dated after year
9999 (past ``datetime.max``). Shown times then fall back to UTC, and to the last (or first)
representable moment, instead of failing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

__all__ = ["as_datetime"]

_LAST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)
_FIRST = datetime.min.replace(tzinfo=UTC) + timedelta(days=2)


def as_datetime(seconds: float, offset: int = 0) -> datetime:
    """The moment ``seconds`` after the epoch, in the zone ``offset`` seconds east of UTC
    (UTC when git's offset is not a real zone), clamped to what datetime can hold."""
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        moment = _LAST if seconds > 0 else _FIRST
    moment = min(max(moment, _FIRST), _LAST)
    if offset and abs(offset) < 86400:
        return moment.astimezone(timezone(timedelta(seconds=offset)))
    return moment
