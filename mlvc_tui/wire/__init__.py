"""What the app sends to the terminal: only the cells a repaint changes, each style change
once (`WireEncoder`), for the terminal's driver and the browser's alike.

On a slow SSH link every byte of a keypress is lag; Textual's own stream resends whole
regions with full style codes per segment. ``MLVC_WIRE=raw`` sends Textual's stream as it
is (to tell a terminal's fault from ours).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Final
from weakref import WeakKeyDictionary

from textual.driver import Driver
from textual.geometry import Size

from mlvc_tui.wire.screen import WireEncoder

__all__ = ["WireEncoder", "lean_driver"]

_ENCODERS: Final[WeakKeyDictionary[Driver, tuple[WireEncoder, Size]]] = WeakKeyDictionary()


def lean_driver(base: type[Driver]) -> type[Driver]:
    """``base`` with what it writes going through a `WireEncoder` (``base`` itself under
    ``MLVC_WIRE=raw``)."""
    return base if os.environ.get("MLVC_WIRE") == "raw" else _encoding(base)


@cache
def _encoding(base: type[Driver]) -> type[Driver]:
    """One encoder per driver; it starts afresh when the app's size changes and at each
    start of application mode (back from a suspend, the screen is unknown)."""

    def write(self: Driver, data: str) -> None:
        size = self._app.size
        encoder, known = _ENCODERS.get(self) or (WireEncoder(size.width), size)
        if size != known:  # resized: the terminal may have moved or cleared cells
            encoder.forget()
            encoder.columns = size.width
        _ENCODERS[self] = (encoder, size)
        base.write(self, encoder.encode(data))

    def start_application_mode(self: Driver) -> None:
        _ENCODERS.pop(self, None)
        base.start_application_mode(self)

    methods = {"write": write, "start_application_mode": start_application_mode}
    made = type(f"Lean{base.__name__}", (base,), methods)
    assert issubclass(made, Driver)
    return made
