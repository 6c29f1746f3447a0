"""Disjoint dicts read as one mapping, without copying them: a grid row's cells.

A grid row's artifacts are its tree's pieces (`Registry.tree_segments`) and its statuses
one run per piece (`StatusRuns`): pieces and runs are shared between the rows whose trees
share the folders. A `Joined` holds the row's pieces instead of a merged copy of them, so
a grid held whole (the app's) costs the distinct pieces plus a small tuple per row, not
branches x artifacts. It reads as the dict ``{**parts[0], **parts[1], ...}`` would: the
same items in the same order (the parts hold no key twice).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from itertools import chain
from typing import Any, TypeVar

__all__ = ["Joined", "parts_of"]

V = TypeVar("V")


class Joined(Mapping[str, V]):
    """Read-only ``{**parts[0], **parts[1], ...}`` over dicts that share no key (never
    change a part once joined)."""

    __slots__ = ("_len", "parts")

    def __init__(self, parts: tuple[Mapping[str, V], ...]) -> None:
        self.parts = tuple(p for p in parts if p)
        self._len = sum(map(len, self.parts))

    def __getitem__(self, key: str) -> V:
        for part in self.parts:
            if key in part:
                return part[key]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        for part in self.parts:
            if key in part:
                return part[key]
        return default

    def __contains__(self, key: object) -> bool:
        return any(key in part for part in self.parts)

    def __iter__(self) -> Iterator[str]:
        return chain.from_iterable(self.parts)

    def __len__(self) -> int:
        return self._len

    def values(self) -> ValuesView[V]:
        return _Values(self)

    def items(self) -> ItemsView[str, V]:
        return _Items(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Joined) and other.parts == self.parts:  # shared parts: at once
            return True
        if not isinstance(other, Mapping):
            return NotImplemented
        if len(other) != self._len:
            return False
        missing = object()
        return all(other.get(k, missing) == v for k, v in self.items())

    __hash__ = None  # type: ignore[assignment]  # a mapping: unhashable, as a dict is

    def __repr__(self) -> str:
        return f"Joined({dict(self.items())!r})"


class _Values(ValuesView[V]):
    _mapping: Joined[V]

    def __iter__(self) -> Iterator[V]:  # the parts' own iterators (no lookups)
        return chain.from_iterable(p.values() for p in self._mapping.parts)


class _Items(ItemsView[str, V]):
    _mapping: Joined[V]

    def __iter__(self) -> Iterator[tuple[str, V]]:
        return chain.from_iterable(p.items() for p in self._mapping.parts)


def parts_of(mapping: Mapping[str, V]) -> tuple[Mapping[str, V], ...]:
    """The parts of a `Joined` (a plain mapping is its own one part)."""
    return mapping.parts if isinstance(mapping, Joined) else (mapping,)
