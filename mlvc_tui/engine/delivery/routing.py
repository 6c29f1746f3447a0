"""Sticky traffic assignment: a unit's bucket by hashing, and buckets owned by variants.

A unit's bucket is ``sha256(test_id + ":" + unit_id)`` read as a big-endian 64-bit number,
modulo 10,000: the same unit lands in the same bucket for the life of a test, in any
process, on any machine. Each variant owns a set of bucket ranges whose size is its weight
(1 bucket = 0.01 % of traffic). When weights change, :func:`reallocate` moves only the
buckets it must: a shrinking variant gives up the buckets it no longer needs (from its
highest ones) and growing variants take exactly those, so the share of units that change
variant is the sum of the weight increases, never more. Stdlib only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from mlvc_tui.engine.errors import BadInput

__all__ = [
    "BUCKETS",
    "Ranges",
    "bucket",
    "counts_from_weights",
    "cumulative",
    "owner",
    "reallocate",
    "size",
]

BUCKETS = 10_000
Ranges = tuple[tuple[int, int], ...]  # half-open [lo, hi) bucket ranges, ascending


def bucket(test_id: str, unit_id: str) -> int:
    """The unit's bucket in [0, 10000) for this test."""
    digest = hashlib.sha256(f"{test_id}:{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def size(ranges: Ranges) -> int:
    """How many buckets the ranges hold."""
    return sum(hi - lo for lo, hi in ranges)


def owner(buckets: Mapping[str, Ranges], point: int) -> str:
    """The variant whose ranges hold bucket ``point``."""
    for name, ranges in buckets.items():
        if any(lo <= point < hi for lo, hi in ranges):
            return name
    raise BadInput(f"bucket {point} belongs to no variant")


def counts_from_weights(weights: Sequence[float]) -> list[int]:
    """Percent weights as bucket counts summing to 10,000 (largest remainder rounding)."""
    if not weights or any(w < 0 or w != w for w in weights):
        raise BadInput("weights must be numbers of at least 0")
    total = sum(weights)
    if total <= 0:
        raise BadInput("at least one weight must be above 0")
    exact = [w * BUCKETS / total for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: BUCKETS - sum(counts)]:
        counts[i] += 1
    return counts


def cumulative(counts: Mapping[str, int]) -> dict[str, Ranges]:
    """Fresh ranges: each variant a contiguous block, in the mapping's order."""
    out: dict[str, tuple[tuple[int, int], ...]] = {}
    start = 0
    for name, count in counts.items():
        out[name] = ((start, start + count),) if count else ()
        start += count
    if start != BUCKETS:
        raise BadInput(f"bucket counts sum to {start}, not {BUCKETS}")
    return out


def _merge(ranges: list[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(r for r in ranges if r[1] > r[0]):
        if out and out[-1][1] == lo:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def _take_top(ranges: Ranges, count: int) -> tuple[Ranges, list[tuple[int, int]]]:
    """Split off the highest ``count`` buckets: (kept, released)."""
    kept, released = list(ranges), []
    while count > 0:
        lo, hi = kept.pop()
        if hi - lo > count:
            kept.append((lo, hi - count))
            released.append((hi - count, hi))
            count = 0
        else:
            released.append((lo, hi))
            count -= hi - lo
    return tuple(kept), released


def reallocate(old: Mapping[str, Ranges], counts: Mapping[str, int]) -> dict[str, Ranges]:
    """New ranges with ``counts`` buckets per variant, moving as few buckets as possible.

    Variants in ``old`` but not in ``counts`` give up everything; new variants start empty.
    Freed buckets are handed out lowest first, to growing variants in ``counts`` order.
    """
    if sum(counts.values()) != BUCKETS or any(c < 0 for c in counts.values()):
        raise BadInput(f"bucket counts must be at least 0 and sum to {BUCKETS}")
    if sum(size(r) for r in old.values()) != BUCKETS:
        raise BadInput("the current bucket ranges do not cover every bucket")
    kept: dict[str, Ranges] = {}
    pool: list[tuple[int, int]] = []
    for name, ranges in old.items():
        keep, released = _take_top(ranges, max(0, size(ranges) - counts.get(name, 0)))
        if name in counts:
            kept[name] = keep
        pool += released
    free = list(_merge(pool))
    out: dict[str, Ranges] = {}
    for name, count in counts.items():
        mine = list(kept.get(name, ()))
        need = count - size(tuple(mine))
        while need > 0:
            lo, hi = free.pop(0)
            if hi - lo > need:
                free.insert(0, (lo + need, hi))
                hi = lo + need
            mine.append((lo, hi))
            need -= hi - lo
        out[name] = _merge(mine)
    return out
