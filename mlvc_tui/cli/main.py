"""`mlvc`: the registry from scripts and CI. Thin: parse, call the engine, print.

Exit codes: 0 done, 1 refused, 2 bad usage or bad input; errors are one line on stderr.
Neither pandas nor Textual is imported here.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from mlvc_tui.cli.common import emit, open_registry
from mlvc_tui.engine import BadInput, MlvcError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage in one line and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


# Modules that add their own subcommands: each has ``register(sub, common)``, and imports
# nothing heavy at module level (handlers import what they need when they run).
COMMAND_MODULES: tuple[str, ...] = (
    "delivery",
    "doctor",
    "files",
    "live",
    "mount",
    "promote",
    "remote",
    "serving",
)


def cmd_branches(args: argparse.Namespace) -> int:
    from mlvc_tui.cli.render import render_branches

    with open_registry(args) as reg:
        branches = reg.branches()
    emit(args, {"branches": branches}, lambda: render_branches(branches))
    return 0


def cmd_grid(args: argparse.Namespace) -> int:
    if args.json:
        with open_registry(args) as reg:
            head, kinds, rows = reg.stream_grid()
            write_grid_json(head, sys.stdout, rows, kinds)
        return 0
    with open_registry(args) as reg:
        grid = reg.grid()
    from mlvc_tui.cli.render import GRID_LEGEND, console, render_grid
    from mlvc_tui.safetext import visible

    out = console()
    out.print(render_grid(grid, out.width))
    out.print(GRID_LEGEND, markup=False, style="dim")
    for row in grid.rows:
        for reason in row.metrics.errors.values():
            out.print(f"! {visible(row.branch.name)}: {visible(reason)}", markup=False)
    if grid.prod is None:
        out.print(
            "no prod branch (looked for prod, main, master): statuses are against nothing",
            markup=False,
        )
    return 0


def _artifact_json(status: str, art: Any) -> dict[str, Any]:
    """One grid cell; ``blob_id`` and ``storage`` only where they say more than ``id``."""
    if art is None:
        return {"status": status}
    cell = {"status": status, "id": art.id, "size": art.size}
    if art.storage != "blob":
        cell.update(storage=art.storage.value, blob_id=art.blob_id)
    return cell


def _grid_head(grid: Any, kinds: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything of the grid's JSON but its rows (``kinds``: each column's kind)."""
    from mlvc_tui.engine import to_jsonable

    if kinds is None:
        kinds = {}
        for row in grid.rows:
            kinds.update({p: a.kind for p, a in row.artifacts.items()})
    return {
        "root": grid.root,
        "prod": grid.prod,
        "head": grid.head,
        "detached": grid.detached,
        "bare": grid.bare,
        "primary_metric": grid.primary_metric,
        "columns": [{"path": p, "kind": kinds.get(p, "data")} for p in grid.columns],
        "worktree": to_jsonable(grid.worktree),
        "remote": grid.remote,
        "fetched": grid.fetched,
    }


def _row_json(row: Any) -> dict[str, Any]:
    """One grid row as plain data, without its ``artifacts``."""
    from mlvc_tui.engine import to_jsonable

    return {
        "branch": to_jsonable(row.branch),
        "primary": to_jsonable(
            {
                "value": row.primary_value,
                "delta": row.primary_delta,
                "verdict": row.primary_verdict,
            }
        ),
        "metrics": to_jsonable(row.metrics.values),
        "metric_errors": row.metrics.errors,
    }


def _grid_json(grid: Any) -> dict[str, Any]:
    """The grid as plain data (what `write_grid_json` writes, built whole)."""
    return {
        **_grid_head(grid),
        "branches": [
            {
                **_row_json(row),
                "artifacts": {
                    path: _artifact_json(status.value, row.artifacts.get(path))
                    for path, status in row.status.items()
                },
            }
            for row in grid.rows
        ],
    }


_RUN_TEXT_CHARS = 4 << 20  # text of status runs kept for reuse (characters)
_RUN_TEXTS = 8192  # status runs remembered (seen once, or with their text)
_CELL_TEXTS = 8192  # distinct cells whose text is kept for reuse (the shared ones return)


def write_grid_json(
    grid: Any,
    out: Any,
    rows: Iterable[tuple[Any, tuple[dict[str, Any], ...] | None]] | None = None,
    kinds: dict[str, str] | None = None,
) -> None:
    """`mlvc grid --json`: the text of ``dumps(_grid_json(grid), compact=True)``, written a
    row at a time (``rows``, when given, instead of ``grid.rows``: each row with its
    statuses in runs, as `Registry.stream_grid` gives them, with the ``kinds`` of the
    columns). It is the largest output mlvc prints (branches x artifacts cells), so a
    cell's text is made once per distinct (path, status, artifact), and a run's once per
    run (rows share the runs of the folders they share)."""
    from mlvc_tui.engine import dumps

    head = dumps(_grid_head(grid, kinds), compact=True)
    out.write(head[:-1] + ',"branches":[')
    cells: dict[tuple[str, Any, int], tuple[Any, str]] = {}
    runs_text: dict[int, tuple[Any, str | None]] = {}  # a run's text, from its second use
    chars = 0

    def run_text(run: dict[str, Any], arts: dict[str, Any]) -> str:
        parts = []
        for path, status in run.items():
            art = arts.get(path)
            key = (path, status, id(art))
            hit = cells.get(key)
            if hit is None or hit[0] is not art:
                text = dumps({path: _artifact_json(status.value, art)}, compact=True)[1:-1]
                if len(cells) >= _CELL_TEXTS:
                    cells.clear()
                hit = cells[key] = (art, text)
            parts.append(hit[1])
        return ",".join(parts)

    pairs = ((row, None) for row in grid.rows) if rows is None else rows
    for i, (row, runs) in enumerate(pairs):
        if runs is None:
            body = run_text(row.status, row.artifacts)
        else:
            texts = []
            for run in runs:
                hit = runs_text.get(id(run))
                if hit is not None and hit[0] is run and hit[1] is not None:
                    texts.append(hit[1])
                    continue
                text = run_text(run, row.artifacts)
                texts.append(text)
                if chars + len(text) > _RUN_TEXT_CHARS or len(runs_text) > _RUN_TEXTS:
                    runs_text.clear()
                    chars = 0
                if hit is not None and hit[0] is run:  # seen before: shared, keep its text
                    runs_text[id(run)] = (run, text)
                    chars += len(text)
                else:  # the first sight: most runs belong to one row only
                    runs_text[id(run)] = (run, None)
            body = ",".join(texts)
        text = dumps(_row_json(row), compact=True)
        out.write(("," if i else "") + text[:-1] + ',"artifacts":{' + body + "}}")
    out.write("]}\n")


def cmd_diff(args: argparse.Namespace) -> int:
    from mlvc_tui.cli.render import render_diff

    a, b = (None, args.a) if args.b is None else (args.a, args.b)
    with open_registry(args) as reg:
        diff = reg.diff(a, b)
    rows = diff.changed if args.only_changed else diff.rows
    value = {"a": diff.a, "b": diff.b, "rows": rows, "errors": diff.errors}
    emit(args, value, lambda: render_diff(diff, args.only_changed))
    if diff.errors and not args.json:
        from mlvc_tui.safetext import visible

        for where, reason in diff.errors.items():
            print(f"! {visible(where)}: {visible(reason)}", file=sys.stderr)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from mlvc_tui.cli.render import render_history

    with open_registry(args) as reg:
        branch = args.branch or reg.prod or "HEAD"
        points = reg.history(args.metric, branch, args.limit)
    value = {"metric": args.metric, "branch": branch, "points": points}
    if args.plot and not args.json:
        from mlvc_tui.cli.plot import history_plot

        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        sys.stdout.write(history_plot(args.metric, branch, points, color=color) + "\n")
        return 0
    emit(args, value, lambda: render_history(args.metric, points))
    return 0


def cmd_lineage(args: argparse.Namespace) -> int:
    from mlvc_tui.cli.render import render_lineage

    with open_registry(args) as reg:
        lin = reg.lineage(args.model, args.branch)
    emit(args, lin, lambda: render_lineage(lin))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import build_demo

    path = build_demo(args.path, seed=args.seed)
    if args.json:
        emit(args, {"path": str(path), "seed": args.seed}, lambda: None)
    else:
        print(f"demo registry created in {path}\n  mlvc -C {path} grid\n  mlvc-tui {path}")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import init_registry

    result = init_registry(args.C, prod=args.prod)
    emit(args, result, lambda: "\n".join(result["done"]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser = _Parser(prog="mlvc", description="Model versioning on plain git.")
    parser.add_argument("-C", metavar="PATH", default=".", help="run as if started in PATH")
    parser.add_argument(
        "--prod",
        dest="prod_branch",
        metavar="BRANCH",
        default=None,
        help="the prod branch, whose mlvc.toml holds the settings (default: prod, main, master)",
    )
    parser.add_argument("--version", action="version", version="%(prog)s 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("init", parents=[common], help="make the repository a registry")
    p.add_argument("--prod", default=None, help="the prod branch's name (default: prod)")
    p.set_defaults(func=cmd_init)
    p = sub.add_parser("demo", parents=[common], help="create a realistic demo registry")
    p.add_argument("path")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("branches", parents=[common], help="list branches with their last commit")
    p.set_defaults(func=cmd_branches)
    p = sub.add_parser("grid", parents=[common], help="every branch against every artifact")
    p.set_defaults(func=cmd_grid)
    p = sub.add_parser(
        "diff",
        parents=[common],
        help="metrics of B against A (defaults: A prod, B the working tree)",
    )
    p.add_argument("a", nargs="?", metavar="A")
    p.add_argument("b", nargs="?", metavar="B")
    p.add_argument("--only-changed", action="store_true", help="hide metrics that are the same")
    p.set_defaults(func=cmd_diff)
    p = sub.add_parser("history", parents=[common], help="a metric along a branch's history")
    p.add_argument("metric")
    p.add_argument("-b", "--branch", default=None)
    p.add_argument("-n", "--limit", type=int, default=50)
    p.add_argument(
        "--plot", action="store_true", help="draw a chart as wide as the terminal (not a table)"
    )
    p.set_defaults(func=cmd_history)
    p = sub.add_parser("lineage", parents=[common], help="where a model came from")
    p.add_argument("model", nargs="?", default=None, help="model name or path (default: the model)")
    p.add_argument("-b", "--branch", default=None)
    p.set_defaults(func=cmd_lineage)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `mlvc`; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MlvcError as exc:
        print(f"mlvc: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"mlvc: {_one_line(str(BadInput(exc)))}", file=sys.stderr)
        return 2
    except Exception as exc:  # a corrupt repository, or a bug: still one line
        if os.environ.get("MLVC_DEBUG"):
            raise
        name = type(exc).__name__
        print(
            f"mlvc: unexpected {name}: {_one_line(str(exc))} (MLVC_DEBUG=1 shows where)",
            file=sys.stderr,
        )
        return 2


def _one_line(text: str) -> str:
    from mlvc_tui.safetext import visible

    return visible(text)


if __name__ == "__main__":
    sys.exit(main())
