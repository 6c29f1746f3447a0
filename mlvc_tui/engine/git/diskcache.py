"""Facts about immutable git objects, kept across processes in ``<git dir>/mlvc/``.

A tree's entries, a blob's size, a commit and the metrics parsed from a `metrics/` tree
never change for a given object id, so a cold `mlvc grid` re-reads only what is new since
the last run. The file is an optimisation: a missing, stale-format or corrupt one is
ignored and rebuilt, and a read-only repository simply runs without it. It is written with
`marshal` (plain data, never code) to a temporary file and renamed into place, so readers
never see half. Trees, sizes and commits are git's facts and outlive an upgrade of mlvc;
parsed metrics are trusted only by the mlvc version that parsed them.

Each kind of fact (trees, sizes, metrics, commits) is its own section with a CRC-32, and is
decoded only when first asked for: listing branches reads the commits section alone, and a
process that asks for nothing pays only for the file's read. A section whose checksum or
shape is wrong is dropped, never believed.

The file is bounded (`MAX_BYTES`): when what a registry holds is larger, the oldest trees
and sizes are dropped first (entries are kept in the order they were learnt, so what this
process read last survives), metrics and commits last. Metrics have their own budget of
values (`MAX_METRIC_VALUES`, the oldest dropped first): a registry whose every metrics tree
holds hundreds of values would otherwise fill the file with them; commits have theirs
(`MAX_COMMITS`). A bounded file keeps every command's start cheap; what was dropped is
re-read from the packs when needed.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any, TypeVar

from mlvc_tui import __version__

__all__ = ["MAX_BYTES", "MAX_COMMITS", "MAX_METRIC_VALUES", "CommitEntry", "ObjectCache"]

_FORMAT = 3  # the file's and its entries' shapes: a change to any of them bumps it
_PARSER = __version__  # metrics are parsed by mlvc: only the version that parsed them trusts them
MAX_BYTES = 16 << 20  # loading more than this would cost every command more than it saves
MAX_METRIC_VALUES = 150_000  # metric values kept (a metrics tree costs its values + 1)
MAX_COMMITS = 20_000  # commits kept (ref tips, mostly: what listing branches reads)
_KINDS = ("trees", "sizes", "metrics", "commits")
_V = TypeVar("_V")

# A commit: (author, author time, its UTC offset in seconds, message, parents, tree id).
CommitEntry = tuple[str, int, int, str, tuple[str, ...], str]


class ObjectCache:
    """Trees, blob sizes, commits and parsed metrics by object id, loaded from and saved
    to disk; each kind is decoded on first use."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.max_bytes = MAX_BYTES
        self.max_metric_values = MAX_METRIC_VALUES
        self.max_commits = MAX_COMMITS
        self._tables: dict[str, dict[str, Any]] = {}  # the kinds decoded so far
        self._loaded: dict[str, int] = {}  # entries each decoded kind had
        self._sections: dict[str, tuple[int, bytes]] | None = None  # as read: (crc, data)
        self._metric_values = 0
        self._oversize = False  # the file on disk is over the cap or wrong: write it again

    @property
    def trees(self) -> dict[str, tuple[tuple[str, int, str], ...]]:
        """Tree id -> its entries (name, mode, id)."""
        return self._table("trees")

    @property
    def sizes(self) -> dict[str, int]:
        """Blob id -> its size."""
        return self._table("sizes")

    @property
    def metrics(self) -> dict[str, tuple[dict[str, float], dict[str, str]]]:
        """A metrics tree's key -> (values, errors) parsed from it."""
        return self._table("metrics")

    @property
    def commits(self) -> dict[str, CommitEntry]:
        """Commit id -> a `CommitEntry` (check its shape before use: `commit_entry`)."""
        return self._table("commits")

    def _table(self, kind: str) -> dict[str, Any]:
        table = self._tables.get(kind)
        if table is None:
            table = self._tables[kind] = self._decode(kind)
            self._loaded[kind] = len(table)
            if kind == "metrics":
                self._trim_metrics()
        return table

    def _read(self) -> dict[str, tuple[int, bytes]]:
        """The file's sections whose checksums hold (read once; {} without a usable file)."""
        if self._sections is not None:
            return self._sections
        self._sections = {}
        if self.path is None:
            return self._sections
        try:
            with self.path.open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                self._oversize = size > self.max_bytes
                if size > 4 * self.max_bytes:  # an old unbounded one: cheaper to re-read
                    return self._sections
                doc: Any = marshal.loads(fh.read())  # (marshal.load(fh) reads piecemeal)
        except (OSError, EOFError, ValueError, TypeError):
            return self._sections
        if not (isinstance(doc, dict) and doc.get("format") == _FORMAT):
            return self._sections
        sections = doc.get("sections")
        for kind in _KINDS:
            entry = sections.get(kind) if isinstance(sections, dict) else None
            if kind == "metrics" and entry is not None and doc.get("parser") != _PARSER:
                self._oversize = True  # parsed by another mlvc: parse again, write without
                continue
            if (
                isinstance(entry, tuple)
                and len(entry) == 2
                and isinstance(entry[1], bytes)
                and entry[0] == zlib.crc32(entry[1])
            ):
                self._sections[kind] = entry
            elif entry is not None:
                self._oversize = True  # a damaged section: write the file again without it
        return self._sections

    def _decode(self, kind: str) -> dict[str, Any]:
        entry = self._read().pop(kind, None)  # decoded once: its bytes are not kept
        if entry is None:
            return {}
        try:
            table = marshal.loads(entry[1])
        except (EOFError, ValueError, TypeError):
            table = None
        if not isinstance(table, dict):
            self._oversize = True
            return {}
        return table

    def _trim_metrics(self) -> None:
        """Count the metric values held, dropping malformed entries and the oldest trees'
        values beyond the budget (a file from before the budget is rewritten within it)."""
        metrics = self._tables["metrics"]
        total = 0
        for key, entry in list(metrics.items()):
            if (
                isinstance(entry, tuple)
                and len(entry) == 2
                and isinstance(entry[0], dict)
                and isinstance(entry[1], dict)
            ):
                total += len(entry[0]) + 1
            else:  # not what this version writes: read the tree again instead
                del metrics[key]
                self._oversize = True
        for key in list(metrics):
            if total <= self.max_metric_values:
                break
            total -= len(metrics.pop(key)[0]) + 1
            self._oversize = True
        self._metric_values = total

    def add_metrics(self, key: str, values: dict[str, float], errors: dict[str, str]) -> None:
        """Keep a metrics tree's parsed values for the next process, within the budget."""
        cost = len(values) + 1
        metrics = self.metrics
        if key not in metrics and self._metric_values + cost <= self.max_metric_values:
            metrics[key] = (values, errors)
            self._metric_values += cost

    def add_commit(self, sha: str, entry: CommitEntry) -> None:
        """Keep a commit for the next process (the oldest dropped beyond `MAX_COMMITS`)."""
        commits = self.commits
        if commits.get(sha) != entry:
            self._oversize |= sha in commits  # a malformed entry replaced: write it again
            commits[sha] = entry
            if len(commits) > self.max_commits:
                _drop_oldest(commits, 0.9)

    def _encode(self) -> bytes:
        sections = {}
        for kind in _KINDS:
            table = self._tables.get(kind)
            if table is not None:
                data = marshal.dumps(table)
                sections[kind] = (zlib.crc32(data), data)
            elif (kept := self._read().get(kind)) is not None:  # never decoded: as it was
                sections[kind] = kept
        return marshal.dumps({"format": _FORMAT, "parser": _PARSER, "sections": sections})

    def _evict(self, size: int) -> bool:
        """Drop the oldest trees and sizes, the same share of each, about enough to fit
        (metrics and commits only once nothing else is left); False when nothing is left
        to drop."""
        keep = max(0.0, self.max_bytes / size * 0.9)  # the share of entries to keep
        if not (self.trees or self.sizes):
            dropped = _drop_oldest(self.metrics, keep)
            return _drop_oldest(self.commits, keep) or dropped
        dropped = _drop_oldest(self.trees, keep)
        return _drop_oldest(self.sizes, keep) or dropped

    def changed(self) -> bool:
        """Whether `save` would write: something was learnt, or the file needs rewriting."""
        return self._oversize or any(
            len(table) != self._loaded[kind] for kind, table in self._tables.items()
        )

    def save(self) -> None:
        """Write what is new since loading, within `MAX_BYTES`; silently skip when the disk
        says no."""
        if self.path is None or not self.changed():
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
        self._loaded = {kind: len(table) for kind, table in self._tables.items()}
        self._oversize = False


def _drop_oldest(table: dict[str, _V], keep: float) -> bool:
    """Drop the oldest entries of ``table``, keeping about the share ``keep``; whether any
    were dropped."""
    cut = max(1, len(table) - int(len(table) * keep)) if table else 0
    for key in list(table)[:cut]:
        del table[key]
    return cut > 0
