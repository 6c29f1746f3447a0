"""Parsing files from any branch with limits: size, nesting depth, YAML aliases, values.

Anyone who can push a branch can commit a 332-byte YAML alias bomb, YAML or JSON nested
thousands deep, or a 90 MB "metrics" file. Each parser here refuses such input with
BadInput (the file is reported bad for that branch) before it costs real time or memory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlvc_tui.engine.errors import BadInput

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_VALUES",
    "check_size",
    "load_json",
    "load_yaml",
    "walk_limit",
]

MAX_FILE_BYTES = 8 << 20  # a metrics, params or settings file larger than this is refused
MAX_DEPTH = 64  # nesting of lists and mappings
MAX_ALIASES = 64  # YAML aliases (a bomb multiplies them)
MAX_VALUES = 50_000  # scalars after expanding aliases


def check_size(what: str, size: int, limit: int = MAX_FILE_BYTES) -> None:
    """BadInput when a file is larger than ``limit`` bytes."""
    if size > limit:
        raise BadInput(f"{what} is too large to parse ({size} bytes; the limit is {limit})")


def walk_limit(what: str, node: Any, max_values: int = MAX_VALUES) -> None:
    """BadInput when ``node`` nests deeper than MAX_DEPTH or holds more than ``max_values``
    scalars (shared subtrees counted each time they appear), checked without recursion."""
    count = 0
    todo: list[tuple[Any, int]] = [(node, 0)]
    while todo:
        item, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise BadInput(f"{what} nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, Mapping):
            todo.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            todo.extend((v, depth + 1) for v in item)
        else:
            count += 1
        if count + len(todo) > max_values:
            raise BadInput(f"{what} holds more than {max_values} values")


def load_json(what: str, text: str | bytes) -> Any:
    """``json.loads`` within the limits; BadInput naming ``what`` otherwise."""
    check_size(what, len(text))
    try:
        doc = json.loads(text)
    except RecursionError:
        raise BadInput(f"{what} nests too deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{what} is not valid JSON: {str(exc).splitlines()[0]}") from None
    walk_limit(what, doc)
    return doc


def _loader_class() -> Any:
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        """PyYAML's safe loader, counting aliases and nesting while it composes."""

        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.mlvc_depth = 0
            self.mlvc_aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.mlvc_aliases += 1
                if self.mlvc_aliases > MAX_ALIASES:
                    raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases")
            self.mlvc_depth += 1
            try:
                if self.mlvc_depth > MAX_DEPTH:
                    raise yaml.YAMLError(f"nests deeper than {MAX_DEPTH} levels")
                return super().compose_node(parent, index)
            finally:
                self.mlvc_depth -= 1

    return BoundedLoader


_LOADER: Any = None


def load_yaml(what: str, text: str) -> Any:
    """``yaml.safe_load`` within the limits; BadInput naming ``what`` otherwise."""
    import yaml

    global _LOADER
    if _LOADER is None:
        _LOADER = _loader_class()
    check_size(what, len(text))
    loader = _LOADER(text)
    try:
        doc = loader.get_single_data()
    except RecursionError:
        raise BadInput(f"{what} nests too deep") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(f"{what} is not valid YAML: {first}") from None
    finally:
        loader.dispose()
    walk_limit(what, doc)
    return doc
