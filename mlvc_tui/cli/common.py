"""What every `mlvc` command shares: opening the registry at ``-C`` and printing a result."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["emit", "open_registry"]


def open_registry(args: argparse.Namespace) -> Any:
    """The registry at ``-C`` (a context manager)."""
    from mlvc_tui.engine.registry import Registry

    reg = Registry.open(args.C)
    if reg.config.problem:  # a bad mlvc.toml: read with the defaults, and say so
        print(f"mlvc: warning: {reg.config.problem}", file=sys.stderr)
    return reg


def emit(args: argparse.Namespace, value: Any, render: Callable[[], Any]) -> None:
    """Print ``value`` as JSON with ``--json``, else what ``render()`` returns, as a table."""
    if args.json:
        from mlvc_tui.engine.jsonable import dumps

        sys.stdout.write(dumps(value) + "\n")
    else:
        from mlvc_tui.cli.render import console

        console().print(render())
