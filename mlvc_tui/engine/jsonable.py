"""Engine values as plain JSON data: what `mlvc ... --json` prints.

Non-finite numbers become the strings "NaN", "Infinity" and "-Infinity" (JSON has no
such numbers); enums become their values; dataclasses become objects.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from enum import Enum
from typing import Any

__all__ = ["dumps", "to_jsonable"]

# Characters json leaves raw with ensure_ascii=False that a terminal may act on.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


_PLAIN = (str, int, bool, type(None))
_FIELDS: dict[type, tuple[str, ...]] = {}


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def to_jsonable(value: Any) -> Any:
    """A structure of dicts, lists, strings, numbers, booleans and None."""
    if type(value) in _PLAIN:  # exactly these types (an Enum of str is not one)
        return value
    if type(value) is float:
        return value if math.isfinite(value) else _non_finite(value)
    if type(value) is dict:  # metrics: many finite floats under str keys, taken as they are
        return {
            k if type(k) is str else str(k): v
            if type(v) is float and math.isfinite(v)
            else to_jsonable(v)
            for k, v in value.items()
        }
    names = _FIELDS.get(type(value))
    if names is not None:
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value if math.isfinite(value) else _non_finite(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):  # a dict subclass, or the grid's `Joined` cells
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def dumps(value: Any, compact: bool = False) -> str:
    """Strict JSON (no NaN tokens); non-ASCII kept, control characters escaped.

    ``compact`` output is one line, and ``value`` must already be plain data.
    """
    if compact:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    else:
        text = json.dumps(to_jsonable(value), indent=2, ensure_ascii=False, allow_nan=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
