"""`mlvc init`: make a folder (or an existing repository) a registry."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlvc_tui.engine.config import PROD_FALLBACKS, parse_config
from mlvc_tui.engine.git.bootstrap import adopt_repository, check_branch_name

__all__ = ["default_config", "init_registry"]


def default_config(prod: str) -> str:
    """The text of a fresh `mlvc.toml`."""
    return (
        "# mlvc registry settings (docs/formats.md lists every key)\n"
        "[registry]\n"
        f'prod = "{prod}"\n'
        f'environments = ["{prod}", "staging", "dev"]\n'
        "\n[metrics]\n"
        '# primary = "accuracy"\n'
        "\n[metrics.direction]\n"
        '# latency_ms = "lower"\n'
    )


def init_registry(path: str | os.PathLike[str], prod: str | None = None) -> dict[str, Any]:
    """Create or adopt a repository as a registry; returns what was done."""
    root = Path(path)
    if prod is None:
        existing = next(
            (
                p / "mlvc.toml"
                for p in (root, *root.resolve().parents)
                if (p / "mlvc.toml").is_file()
            ),
            None,
        )
        prod = (parse_config(existing.read_bytes()).prod if existing else None) or "prod"
    check_branch_name(prod)
    path, done = adopt_repository(
        root, prod, "mlvc.toml", default_config(prod).encode(), prod not in PROD_FALLBACKS
    )
    return {"path": path, "prod": prod, "done": done}
