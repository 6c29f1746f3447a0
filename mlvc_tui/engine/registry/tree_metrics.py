"""A tree's metrics: every file under ``metrics/`` parsed and flattened to dotted keys,
cached by the id of the ``metrics/`` tree (in memory and in the object cache, bounded)."""

from __future__ import annotations

from mlvc_tui.engine import metrics as metric_files
from mlvc_tui.engine.bounded import MAX_FILE_BYTES
from mlvc_tui.engine.git.objects import ObjectReader
from mlvc_tui.engine.values import Metrics

__all__ = ["MetricsIndex"]

_VALUES_KEPT = 300_000  # metric values kept in memory (and saved to disk) before starting afresh


class MetricsIndex:
    """The metrics of root trees, parsed once per distinct ``metrics/`` tree."""

    def __init__(self, objects: ObjectReader) -> None:
        self.objects = objects
        self._saved_values = 0
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
            for path, entry in objects.files(hit[1]).items():
                if path.lower().endswith(metric_files.METRIC_SUFFIXES) and not entry.is_gitlink:
                    size = objects.size(entry.sha)
                    if size > MAX_FILE_BYTES:  # never read whole: report it bad instead
                        too_large[f"metrics/{path}"] = (
                            f"metrics/{path} is too large to parse ({size} bytes; "
                            f"the limit is {MAX_FILE_BYTES})"
                        )
                        continue
                    files.append((f"metrics/{path}", objects.blob(entry.sha)))
        cached = metric_files.merge_files(files, stem)
        if too_large:
            cached = Metrics(cached.values, {**cached.errors, **too_large})
        if self._metric_values > _VALUES_KEPT:  # bounded by values, not trees
            self._metrics.clear()
            self._metric_values = 0
        self._metrics[key] = cached
        self._metric_values += len(cached.values) + 1
        if self._saved_values < _VALUES_KEPT:  # for the disk cache, within a budget
            self._saved_values += len(cached.values) + 1
            objects.cache.metrics[key] = (cached.values, cached.errors)
        return cached
