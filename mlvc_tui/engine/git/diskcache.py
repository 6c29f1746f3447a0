"""Facts about immutable git objects, kept across processes in ``<git dir>/mlvc/``.

A tree's entries, a blob's size and the metrics parsed from a `metrics/` tree never change
for a given object id, so a cold `mlvc grid` re-reads only what is new since the last run.
The file is an optimisation: a missing, stale-format or corrupt one is ignored and rebuilt,
and a read-only repository simply runs without it. It is written with `marshal` (plain
data, never code) to a temporary file and renamed into place, so readers never see half.
"""

from __future__ import annotations

import marshal
import os
import tempfile
from pathlib import Path
from typing import Any

from mlvc_tui import __version__

__all__ = ["ObjectCache"]

_VERSION = f"1-{__version__}"  # parsed metrics depend on mlvc's own parser
_MAX_ENTRIES = 2_000_000
_MAX_BYTES = 64 << 20  # a cache larger than this would cost every command more than it saves


class ObjectCache:
    """Trees, blob sizes and parsed metrics by object id, loaded from and saved to disk."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.trees: dict[str, tuple[tuple[str, int, str], ...]] = {}
        self.sizes: dict[str, int] = {}
        self.metrics: dict[str, tuple[dict[str, float], dict[str, str]]] = {}
        self._loaded = (0, 0, 0)
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            with path.open("rb") as fh:
                doc: Any = marshal.load(fh)
        except (OSError, EOFError, ValueError, TypeError):
            return
        if not (isinstance(doc, dict) and doc.get("version") == _VERSION):
            return
        trees, sizes, metrics = doc.get("trees"), doc.get("sizes"), doc.get("metrics")
        if isinstance(trees, dict) and isinstance(sizes, dict) and isinstance(metrics, dict):
            self.trees, self.sizes, self.metrics = trees, sizes, metrics
            self._loaded = self._counts()

    def _counts(self) -> tuple[int, int, int]:
        return len(self.trees), len(self.sizes), len(self.metrics)

    def save(self) -> None:
        """Write what is new since loading; silently skip when the disk says no."""
        if self.path is None or self._counts() == self._loaded:
            return
        if sum(self._counts()) > _MAX_ENTRIES:
            return
        doc = {
            "version": _VERSION,
            "trees": self.trees,
            "sizes": self.sizes,
            "metrics": self.metrics,
        }
        data = marshal.dumps(doc)
        if len(data) > _MAX_BYTES:
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
