"""The `mlvc` command: one module per command group, each with its rendering beside it.

`main` parses and dispatches; `common` opens the registry and prints (`--json` or a table);
`render`, `promote_render` and `delivery_render` turn engine values into Rich tables.
Nothing here imports Textual, and pandas only where a command needs it.
"""

from mlvc_tui.cli.main import main

__all__ = ["main"]
