"""`mlvc pull-model`: bring the model a URI names on a registry URL into the local cache
(one ref, shallow, and the one LFS object), checked against its lineage record."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlvc_tui.cli.common import copy_to, emit

__all__ = ["register"]


def cmd_pull_model(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import resolve_model

    found = resolve_model(args.uri, args.registry or args.C, ref=args.ref, trust=args.trust)
    value = found.as_dict()
    if args.dest:
        dest = Path(args.dest).expanduser()
        target = copy_to(found.local_path, dest, Path(found.path).name)
        value["dest"] = str(target)
    emit(args, value, lambda: _render(value))
    return 0


def _render(value: dict[str, Any]) -> Any:
    from rich.table import Table

    from mlvc_tui.cli.render import t

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    fetched = "fetched" if value["fetched"] or value["downloaded"] else "cached, unchanged"
    rows = [
        ("model", value["uri"]),
        ("registry", value["registry"]),
        ("ref", value["ref"]),
        ("commit", value["commit"]),
        ("version", value["version"] or "-"),
        ("path", value["path"]),
        ("storage", value["storage"]),
        ("lfs oid", value["lfs_oid"] or "-"),
        ("sha256", value["sha256"] or "-"),
        ("size", str(value["size"])),
        ("local", value.get("dest") or value["local_path"]),
        ("cache", fetched),
    ]
    for key, text in rows:
        table.add_row(t(key), t(str(text)))
    return table


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `pull-model` to the `mlvc` command."""
    p = sub.add_parser(
        "pull-model",
        parents=[common],
        help="fetch the model a URI names (models:/NAME@ENV, models:/NAME/VERSION) into the cache",
    )
    p.add_argument("uri", help="models:/<name>@<env>, models:/<name>/<version>, or a model path")
    p.add_argument(
        "--registry", default=None, help="registry URL or path (default: the -C repository)"
    )
    p.add_argument("--ref", default=None, help="with a model path: the ref (default prod)")
    p.add_argument("--dest", default=None, help="also copy the verified model here")
    p.add_argument("--trust", action="store_true", help="serve a model without lineage record")
    p.set_defaults(func=cmd_pull_model)
