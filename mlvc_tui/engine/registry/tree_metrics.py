"""A tree's metrics: every file under ``metrics/`` parsed and flattened to dotted keys,
cached by the id of the ``metrics/`` tree (in memory and in the object cache, bounded)."""

from __future__ import annotations

from functools import partial

from mlvc_tui.engine import metrics as metric_files
from mlvc_tui.engine.git.objects import ObjectReader
from mlvc_tui.engine.metric_blobs import MetricBlobs
from mlvc_tui.engine.values import Metrics

__all__ = ["MetricsIndex"]

_VALUES_KEPT = 300_000  # metric values kept in memory (and saved to disk) before starting afresh


class MetricsIndex:
    """The metrics of root trees, parsed once per distinct ``metrics/`` tree."""

    def __init__(self, objects: ObjectReader) -> None:
        self.objects = objects
        self.blobs = MetricBlobs()  # parsed once per (path, blob id), whatever the tree
        self._lists: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        self._listed = 0
        self.forget()

    def forget(self) -> None:
        """Drop what was parsed (the settings that merge and name metrics changed)."""
        self._metrics: dict[str, Metrics] = {}
        self._metric_values = 0

    def of_tree(self, tree: str, stem: str | None) -> Metrics:
        """The metrics of a root tree; ``stem`` is the configured model's file stem."""
        objects = self.objects
        hit = objects.lookup(tree, "metrics")
        key = f"{hit[1] if hit else ''}:{stem or ''}"
        cached = self._metrics.get(key)
        if cached is None and (saved := objects.cache.metrics.get(key)) is not None:
            cached = self._metrics[key] = Metrics(*saved)
        if cached is not None:
            return cached
        files, too_large = [], {}
        if hit is not None and hit[0] & 0o170000 == 0o040000:
            blobs = self.blobs
            for path, sha in self._files(hit[1], "metrics/"):
                parsed, prefixed, read = blobs.parsed(
                    path, sha, partial(objects.size, sha), partial(objects.blob, sha)
                )
                if read:
                    files.append((path, parsed, prefixed))
                else:  # too large to read: reported after the files that were read
                    too_large[path] = str(parsed)
        cached = metric_files.merge_parsed(files, stem)
        if too_large:
            cached = Metrics(cached.values, {**cached.errors, **too_large})
        if self._metric_values > _VALUES_KEPT:  # bounded by values, not trees
            self._metrics.clear()
            self._metric_values = 0
        self._metrics[key] = cached
        self._metric_values += len(cached.values) + 1
        objects.cache.add_metrics(key, cached.values, cached.errors)  # within its budget
        return cached

    def _files(self, tree: str, prefix: str) -> tuple[tuple[str, str], ...]:
        """(path, blob id) of every metrics file below a tree whose path is ``prefix``,
        cached by (prefix, tree id): a metrics tree that changed one file re-lists only
        the folders on that file's path."""
        key = (prefix, tree)
        hit = self._lists.get(key)
        if hit is None:
            found: list[tuple[str, str]] = []
            for name, mode, sha in self.objects.tree(tree):
                kind = mode & 0o170000
                if kind == 0o040000:
                    found.extend(self._files(sha, f"{prefix}{name}/"))
                elif kind != 0o160000 and name.lower().endswith(metric_files.METRIC_SUFFIXES):
                    found.append((prefix + name, sha))
            hit = tuple(found)
            if self._listed > _VALUES_KEPT:
                self._lists.clear()
                self._listed = 0
            self._lists[key] = hit
            self._listed += len(hit) + 1
        return hit
