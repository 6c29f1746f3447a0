"""Text from a repository made safe to show: control characters become visible escapes.

Branch names, paths, commit messages and CSV cells are data, never markup or terminal
control sequences. Pair this with `rich.text.Text` (which never parses markup).
"""

from __future__ import annotations

import re

__all__ = ["visible"]

_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, one_line: bool = True) -> str:
    """``text`` with control characters shown as ``\\x1b``-style escapes.

    With ``one_line`` (the default) newlines and tabs are escaped too.
    """
    if one_line:
        text = text.replace("\n", "\\n").replace("\t", "\\t")
    return _CONTROL.sub(_escape, text)
