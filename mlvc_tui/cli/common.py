"""What every `mlvc` command shares: opening the registry at ``-C`` and printing a result."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["emit", "open_registry"]


def open_registry(args: argparse.Namespace) -> Any:
    """The registry at ``-C`` (a context manager)."""
    from mlvc_tui.engine import Registry

    reg = Registry.open(args.C, prod=getattr(args, "prod_branch", None))
    if reg.config.problem:  # a bad mlvc.toml: read with the defaults, and say so
        print(f"mlvc: warning: {reg.config.problem}", file=sys.stderr)
    return reg


def emit(args: argparse.Namespace, value: Any, render: Callable[[], Any]) -> None:
    """Print ``value`` as JSON with ``--json``, else what ``render()`` returns, as a table."""
    if args.json:
        from mlvc_tui.engine import dumps

        sys.stdout.write(dumps(value) + "\n")
    else:
        from rich.text import Text

        from mlvc_tui.cli.render import console
        from mlvc_tui.safetext import visible

        shown = render()
        if isinstance(shown, str):  # repository text in it: literal, never markup
            shown = Text(visible(shown, one_line=False))
        console().print(shown)
