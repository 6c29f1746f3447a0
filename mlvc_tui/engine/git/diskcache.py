"""Facts about immutable git objects, kept across processes in ``<git dir>/mlvc/``.

A tree's entries, a blob's size and the metrics parsed from a `metrics/` tree never change
for a given object id, so a cold `mlvc grid` re-reads only what is new since the last run.
The file is an optimisation: a missing, stale-format or corrupt one is ignored and rebuilt,
and a read-only repository simply runs without it. It is written with `marshal` (plain
data, never code) to a temporary file and renamed into place, so readers never see half.

The file is bounded (`MAX_BYTES`): when what a registry holds is larger, the oldest trees
and sizes are dropped first (entries are kept in the order they were learnt, so what this
process read last survives), metrics last. Metrics have their own budget of values
(`MAX_METRIC_VALUES`, the oldest dropped first): a registry whose every metrics tree holds
hundreds of values would otherwise fill the file with them. A bounded file keeps every
command's start cheap; what was dropped is re-read from the packs when needed.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from mlvc_tui import __version__

__all__ = ["MAX_BYTES", "MAX_METRIC_VALUES", "ObjectCache"]

_VERSION = f"1-{__version__}"  # parsed metrics depend on mlvc's own parser
MAX_BYTES = 16 << 20  # loading more than this would cost every command more than it saves
MAX_METRIC_VALUES = 150_000  # metric values kept (a metrics tree costs its values + 1)
_V = TypeVar("_V")


class ObjectCache:
    """Trees, blob sizes and parsed metrics by object id, loaded from and saved to disk."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.trees: dict[str, tuple[tuple[str, int, str], ...]] = {}
        self.sizes: dict[str, int] = {}
        self.metrics: dict[str, tuple[dict[str, float], dict[str, str]]] = {}
        self._loaded = (0, 0, 0)
        self.max_bytes = MAX_BYTES
        self.max_metric_values = MAX_METRIC_VALUES
        self._metric_values = 0
        self._oversize = False  # the file on disk is over the cap: rewrite it smaller
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            with path.open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                self._oversize = size > self.max_bytes
                if size > 4 * self.max_bytes:  # an old unbounded one: cheaper to re-read
                    return
                doc: Any = marshal.load(fh)
        except (OSError, EOFError, ValueError, TypeError):
            return
        if not (isinstance(doc, dict) and doc.get("version") == _VERSION):
            return
        trees, sizes, metrics = doc.get("trees"), doc.get("sizes"), doc.get("metrics")
        if isinstance(trees, dict) and isinstance(sizes, dict) and isinstance(metrics, dict):
            self.trees, self.sizes, self.metrics = trees, sizes, metrics
            self._loaded = self._counts()
            self._trim_metrics()

    def _trim_metrics(self) -> None:
        """Count the metric values held, dropping malformed entries and the oldest trees'
        values beyond the budget (a file from before the budget is rewritten within it)."""
        total = 0
        for key, entry in list(self.metrics.items()):
            if (
                isinstance(entry, tuple)
                and len(entry) == 2
                and isinstance(entry[0], dict)
                and isinstance(entry[1], dict)
            ):
                total += len(entry[0]) + 1
            else:  # not what this version writes: read the tree again instead
                del self.metrics[key]
                self._oversize = True
        for key in list(self.metrics):
            if total <= self.max_metric_values:
                break
            total -= len(self.metrics.pop(key)[0]) + 1
            self._oversize = True
        self._metric_values = total

    def add_metrics(self, key: str, values: dict[str, float], errors: dict[str, str]) -> None:
        """Keep a metrics tree's parsed values for the next process, within the budget."""
        cost = len(values) + 1
        if key not in self.metrics and self._metric_values + cost <= self.max_metric_values:
            self.metrics[key] = (values, errors)
            self._metric_values += cost

    def _encode(self) -> bytes:
        doc = {"version": _VERSION, "trees": self.trees, "sizes": self.sizes}
        doc["metrics"] = self.metrics
        return marshal.dumps(doc)

    def _evict(self, size: int) -> bool:
        """Drop the oldest trees and sizes, the same share of each, about enough to fit
        (metrics only once nothing else is left); False when nothing is left to drop."""
        keep = max(0.0, self.max_bytes / size * 0.9)  # the share of entries to keep
        if not (self.trees or self.sizes):
            return _drop_oldest(self.metrics, keep)
        dropped = _drop_oldest(self.trees, keep)
        return _drop_oldest(self.sizes, keep) or dropped

    def _counts(self) -> tuple[int, int, int]:
        return len(self.trees), len(self.sizes), len(self.metrics)

    def save(self) -> None:
        """Write what is new since loading, within `MAX_BYTES`; silently skip when the disk
        says no."""
        if self.path is None or (self._counts() == self._loaded and not self._oversize):
            return
        data = self._encode()
        while len(data) > self.max_bytes and self._evict(len(data)):
            data = self._encode()
        if len(data) > self.max_bytes:
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)  # a stale, oversized file: never load it
            return
        try:
            self.path.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".cache-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return
        self._loaded = self._counts()
        self._oversize = False


def _drop_oldest(table: dict[str, _V], keep: float) -> bool:
    """Drop the oldest entries of ``table``, keeping about the share ``keep``; whether any
    were dropped."""
    cut = max(1, len(table) - int(len(table) * keep)) if table else 0
    for key in list(table)[:cut]:
        del table[key]
    return cut > 0
