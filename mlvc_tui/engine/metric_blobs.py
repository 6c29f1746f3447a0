"""Metrics files parsed once per blob: what a tree's metrics are made of.

Branches share most of their metrics files (a registry with 285 per-fold files under
`metrics/` changes one or two of them per commit), and a blob's content never changes, so
a file is parsed once per (path, blob id) however many metrics trees hold it; merging a
tree's metrics (`metrics.merge_parsed`) then only copies parsed values. The path is part
of the key because a file's reading (its format, its key prefix, the wording of its error)
follows its name.

The cache is bounded by the values it holds (`MAX_VALUES`): past that it starts afresh,
so memory follows the distinct files up to a ceiling, never branches x files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from sys import intern

from mlvc_tui.engine.bounded import MAX_FILE_BYTES
from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.metrics import key_prefix, parse_metrics_file

__all__ = ["MAX_VALUES", "MetricBlobs", "ParsedFile"]

MAX_VALUES = 200_000  # parsed values (bare and prefixed) kept before starting afresh

# (values or the reason the file is bad, the values under the file's key prefix or None,
# whether the file was read: one too large to read takes no part in choosing the main file)
ParsedFile = tuple[Mapping[str, float] | str, Mapping[str, float] | None, bool]


class MetricBlobs:
    """Parsed metrics files by (path, blob id), read through ``read`` only on a miss."""

    def __init__(self, max_values: int = MAX_VALUES) -> None:
        self.max_values = max_values
        self._parsed: dict[tuple[str, str], ParsedFile] = {}
        self._values = 0
        self.parses = 0  # files parsed since creation (a miss each)

    def __len__(self) -> int:
        return len(self._parsed)

    def parsed(
        self, path: str, sha: str, size: Callable[[], int], read: Callable[[], bytes]
    ) -> ParsedFile:
        """The file at ``path`` with blob ``sha``: its values and those values with the
        file's key prefix (both shared between trees: never change them), or the reason
        it is bad (and whether it was read).
        A file over `MAX_FILE_BYTES` (by ``size``) is reported without being read."""
        key = (path, sha)
        hit = self._parsed.get(key)
        if hit is not None:
            return hit
        self.parses += 1
        length = size()
        if length > MAX_FILE_BYTES:  # never read whole: report it bad instead
            why = f"{path} is too large to parse ({length} bytes; the limit is {MAX_FILE_BYTES})"
            hit = (why, None, False)
        else:
            try:
                parsed = parse_metrics_file(path, read())
            except BadInput as exc:
                hit = (str(exc), None, True)
            else:  # keys interned: trees' merged metrics (and the disk cache) share them
                values = {intern(k): v for k, v in parsed.items()}
                prefix = key_prefix(path)
                prefixed = {intern(prefix + k): v for k, v in values.items()}
                hit = (values, prefixed, True)
        cost = 1 + (2 * len(hit[0]) if hit[1] is not None else 0)
        if self._values + cost > self.max_values:
            self._parsed.clear()
            self._values = 0
        if cost <= self.max_values:
            self._parsed[key] = hit
            self._values += cost
        return hit
