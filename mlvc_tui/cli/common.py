"""What every `mlvc` command shares: opening the registry at ``-C`` and printing a result."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
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


def ask(question: str) -> None:
    """Ask on stderr, read stdin; Refused unless the answer is yes."""
    from mlvc_tui.engine import Refused

    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise Refused("cancelled: nothing was changed")


def copy_to(source: str | Path, target: Path, name: str, into: bool = False) -> Path:
    """Copy ``source`` to ``target`` (as ``target/name`` when it is a folder, or ``into``)
    through a temporary file beside it: the file lands whole or not at all. BadInput when
    the folder does not exist; the path written."""
    from mlvc_tui.engine import BadInput

    if into or target.is_dir():
        target = target / name
    if not target.parent.is_dir():
        raise BadInput(f"{target.parent}: no such folder")
    temp = target.with_name(f".{target.name}.mlvc-tmp")
    try:
        shutil.copyfile(source, temp)
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    return target
