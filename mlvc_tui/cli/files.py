"""`mlvc cp` and `mlvc reproduce`: files in and out of any ref, and models trained again.

A side of `cp` is ``REF:PATH`` when it has a colon and does not start with ``/``, ``./``,
``../`` or ``~`` (git forbids colons in ref names); otherwise it is a local path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mlvc_tui.cli.common import copy_to, emit, open_registry
from mlvc_tui.engine import BadInput

__all__ = ["register"]


def _side(arg: str) -> tuple[str, str] | None:
    """(ref, path) for a ``REF:PATH`` argument, None for a local path."""
    if arg.startswith(("/", "./", "../", "~")) or ":" not in arg:
        return None
    ref, _, path = arg.partition(":")
    if not ref:
        raise BadInput(f"{arg!r}: expected REF:PATH, e.g. prod:models/model.pkl")
    return ref, path.lstrip("/")  # a trailing / says "into this folder"


def _size(n: int | None) -> str:
    from mlvc_tui.present import size

    return "size unknown" if n is None else size(n)


def _into_registry(
    reg: Any, src: Path | tuple[str, str], ref: str, path: str, message: str | None
) -> dict[str, Any]:
    from mlvc_tui.engine import FileTransaction, Storage, files

    if reg.branch_tip(ref) is None:
        reg.resolve(ref)  # an unknown ref says so
        raise BadInput(f"{ref} is not a branch: mlvc cp writes to branches only")
    name = src.name if isinstance(src, Path) else Path(src[1]).name
    if not path or path.endswith("/") or _is_folder(reg, ref, path):
        path = f"{path.rstrip('/')}/{name}" if path.strip("/") else name
    label = str(src) if isinstance(src, Path) else f"{src[0]}:{src[1]}"
    tx = FileTransaction(reg, ref, message or f"Copy {name} to {path}")
    if isinstance(src, Path):
        if src.is_dir():
            raise BadInput(f"{src} is a folder: mlvc cp copies one file")
        tx.put_file(path, src)
    else:
        info = files.stat(reg, *src)
        if not info.is_file:
            raise BadInput(f"{src[1]} on {src[0]} is a {info.type}: mlvc cp copies one file")
        if (info.storage is Storage.LFS) == tx.lfs_match(path):
            tx.put_blob(path, info.blob_id)  # same storage: the same object serves both
        else:
            with files.open_read(reg, *src) as fh:
                tx.put_stream(path, fh)
    commit = tx.commit()
    info = files.stat(reg, commit, path)
    return {
        "src": label,
        "dst": f"{ref}:{path}",
        "commit": commit,
        "size": info.size,
        "storage": info.storage,
        "id": info.id,
    }


def _is_folder(reg: Any, ref: str, path: str) -> bool:
    from mlvc_tui.engine import files

    try:
        return files.stat(reg, ref, path).type == "directory"
    except BadInput:
        return False


def _cp_model(args: argparse.Namespace) -> int:
    """``mlvc cp models:/<name>@<env> DEST [--registry URL]``: the verified model, copied."""
    from mlvc_tui.engine import files, local_target, resolve_model

    target = Path(args.dst).expanduser()
    if _side(args.dst) is not None and not args.dst.startswith("models:"):
        raise BadInput("mlvc cp copies a models:/ URI to a local path only")
    if args.registry:
        found = resolve_model(args.src, args.registry)
        into = args.dst.endswith("/")
        target = copy_to(found.local_path, target, Path(found.path).name, into)
        value = {"src": args.src, "dst": str(target), "commit": None, "size": found.size}
        value.update(storage=found.storage, id=found.lfs_oid or found.sha256)
    else:
        with open_registry(args) as reg:
            ref, path = local_target(reg, args.src)
            if target.is_dir() or args.dst.endswith("/"):
                target = target / Path(path).name
            if not target.parent.is_dir():
                raise BadInput(f"{target.parent}: no such folder")
            info = files.copy_out(reg, ref, path, target)
        value = {"src": args.src, "dst": str(target), "commit": None, "size": info.size}
        value.update(storage=info.storage, id=info.id)
    lfs = ", Git LFS" if value["storage"] == "lfs" else ""
    emit(
        args,
        value,
        lambda: _plain(f"copied {value['src']} to {value['dst']} ({_size(value['size'])}{lfs})"),
    )
    return 0


def cmd_cp(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import files

    if args.src.startswith("models:"):
        return _cp_model(args)
    src, dst = _side(args.src), _side(args.dst)
    if src is None and dst is None:
        raise BadInput(
            "neither side is in the registry: write one as REF:PATH (e.g. prod:models/model.pkl)"
        )
    with open_registry(args) as reg:
        if dst is not None:
            source: Path | tuple[str, str] = src if src is not None else Path(args.src)
            if isinstance(source, Path) and not source.exists():
                raise BadInput(f"{source}: no such file")
            value = _into_registry(reg, source, *dst, args.message)
        else:
            assert src is not None
            target = Path(args.dst).expanduser()
            if target.is_dir() or args.dst.endswith("/"):
                target = target / Path(src[1]).name
            if not target.parent.is_dir():
                raise BadInput(f"{target.parent}: no such folder")
            info = files.copy_out(reg, *src, target)
            value = {
                "src": f"{src[0]}:{src[1]}",
                "dst": str(target),
                "commit": None,
                "size": info.size,
                "storage": info.storage,
                "id": info.id,
            }
    where = f" in commit {value['commit'][:8]}" if value["commit"] else ""
    lfs = ", Git LFS" if value["storage"] == "lfs" else ""
    emit(
        args,
        value,
        lambda: _plain(
            f"copied {value['src']} to {value['dst']} ({_size(value['size'])}{lfs}){where}"
        ),
    )
    return 0


def _plain(text: str) -> Any:
    from mlvc_tui.cli.render import t

    return t(text)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import reproduce_branch

    with open_registry(args) as reg:
        result = reproduce_branch(
            reg,
            args.branch,
            args.model,
            command=args.command,
            tolerance=args.tolerance,
            output=sys.stderr,
            keep=args.keep,
        )
    value = {
        "match": result.match,
        "model_match": result.model_match,
        "mismatched": [r.key for r in result.mismatched],
        "reproduction": result,
    }
    emit(args, value, lambda: _render(result))
    return 0 if result.match else 1


def _render(result: Any) -> Any:
    from rich.console import Group
    from rich.table import Table

    from mlvc_tui.cli.render import t
    from mlvc_tui.present import number

    head = t(f"{result.model} on {result.branch}, commit {result.commit[:8]}: `{result.command}`")
    if result.reproduced_sha256 is None:
        model = t(f"model    not written by the command (expected {result.model})", "red")
    else:
        same = "same" if result.model_match else "DIFFERENT"
        model = t(
            f"model    {same}: recorded sha256 {result.recorded_sha256[:12]}, "
            f"reproduced {result.reproduced_sha256[:12]}",
            "green" if result.model_match else "red",
        )
    table = Table("metric", "recorded", "reproduced", "delta", "")
    bad = {r.key for r in result.mismatched}
    for row in result.metrics:
        table.add_row(
            t(row.key),
            number(row.a),
            number(row.b),
            number(row.delta, signed=True),
            t("differs", "red") if row.key in bad else t("same", "dim"),
        )
    parts = ([] if result.model_match else ["the model"]) + (
        [f"{len(bad)} metric{'s' if len(bad) > 1 else ''}"] if bad else []
    )
    verb = "differs" if parts == ["the model"] else "differ"
    verdict = t(
        "reproduced: model and metrics match"
        if result.match
        else f"NOT reproduced: {' and '.join(parts)} {verb}",
        "bold green" if result.match else "bold red",
    )
    keep = [t(f"work tree kept in {result.workdir}")] if result.workdir else []
    return Group(head, model, table, verdict, *keep)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `cp` and `reproduce` to the `mlvc` command."""
    p = sub.add_parser(
        "cp", parents=[common], help="copy a file between a local path and REF:PATH (one commit)"
    )
    p.add_argument("src", help="a local file, REF:PATH, or models:/NAME@ENV (models:/NAME/VER)")
    p.add_argument("dst", help="a local path, or BRANCH:PATH (a folder keeps the name)")
    p.add_argument("-m", "--message", default=None, help="the commit message")
    p.add_argument(
        "--registry", default=None, help="with a models:/ URI: a registry URL or path to read"
    )
    p.set_defaults(func=cmd_cp)
    p = sub.add_parser(
        "reproduce",
        parents=[common],
        help="train a branch's model again from its commit and compare",
    )
    p.add_argument("branch")
    p.add_argument("--model", default=None, help="model name or path (default: the model)")
    p.add_argument(
        "--command", default=None, help="training command (default: [registry] train in mlvc.toml)"
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="largest metric difference that still matches (default 0)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary work tree")
    p.set_defaults(func=cmd_reproduce)
