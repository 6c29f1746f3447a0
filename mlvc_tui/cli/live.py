"""`mlvc drift [-b BRANCH] [--follow]`: a branch's drift log, or the working tree's, live.

Without ``--follow``: one line per feature and metric of the branch's committed log (default:
the checked-out branch, else prod). With ``--follow``: the working tree's log, its newest
points first, then each point as it is written, until ctrl-c. ``--json`` prints the report
as one document, or (following) one JSON object per point and per event, a line each.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from mlvc_tui.cli.common import emit, open_registry
from mlvc_tui.engine import DRIFT_PATH, BadInput
from mlvc_tui.present import plural
from mlvc_tui.safetext import visible

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `mlvc drift`."""
    p = sub.add_parser(
        "drift",
        parents=[common],
        help="a branch's drift log, or --follow the working tree's as it grows",
    )
    p.add_argument(
        "-b", "--branch", default=None, help="the branch (default: the checked-out one, else prod)"
    )
    p.add_argument(
        "--fail-on-alert",
        action="store_true",
        help="exit 1 when the latest point of any feature is over its threshold (for CI, cron)",
    )
    p.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="print points of the working tree's log as they are written",
    )
    p.add_argument(
        "-n",
        "--lines",
        type=int,
        default=10,
        metavar="N",
        help="with --follow: how many existing points to print first (default 10)",
    )
    p.add_argument(
        "--poll",
        nargs="?",
        const=1.0,
        default=None,
        type=float,
        metavar="SECONDS",
        help="with --follow: poll (every SECONDS, default 1) "
        "instead of inotify, e.g. on a network file system",
    )
    p.set_defaults(func=cmd_drift)


def cmd_drift(args: argparse.Namespace) -> int:
    if args.follow:
        return _follow(args)
    from mlvc_tui.cli.render import console

    with open_registry(args) as reg:
        branch = args.branch or reg.head or reg.prod
        if branch is None:
            raise BadInput("no checked-out branch and no prod branch: name one with -b")
        report = reg.drift(branch)
    value = {
        "branch": branch,
        "path": DRIFT_PATH,
        "rows": report.rows,
        "alerts": report.alerts,
        "bad_rows": report.bad_rows,
        "errors": report.errors,
        "series": report.summary(),
    }
    emit(args, value, lambda: _table(branch, report))
    if report.bad_rows and not args.json:
        console().print(
            f"! {plural(report.bad_rows, 'bad row')} skipped", markup=False, highlight=False
        )
    over = report.over_threshold()
    if args.fail_on_alert and over:
        names = ", ".join(f"{s.feature} {s.metric}" for s in over[:3])
        more = f" and {len(over) - 3} more" if len(over) > 3 else ""
        print(
            f"mlvc: drift on {visible(branch)}: {len(over)} feature(s) over threshold at their "
            f"latest point: {visible(names)}{more}",
            file=sys.stderr,
        )
        return 1
    return 0


def _table(branch: str, report: Any) -> Any:
    from rich.table import Table

    from mlvc_tui.cli.render import t
    from mlvc_tui.present import number

    table = Table(
        title=f"{DRIFT_PATH} on {branch}: {report.rows} rows, {report.alerts} alerts",
        title_justify="left",
    )
    for name in ("", "feature", "metric", "latest", "max", "threshold", "alerts"):
        table.add_column(
            name, justify="right" if name in ("latest", "max", "threshold", "alerts") else "left"
        )
    for s in report.summary():
        mark = "!" if s.alert else "~" if s.alerts else ""
        table.add_row(
            mark,
            t(s.feature),
            t(s.metric),
            number(s.latest),
            number(s.max),
            number(s.threshold),
            f"{s.alerts}/{s.count}",
            style="bold red" if s.alert else None,
        )
    return table


def _line(p: Any, as_json: bool) -> str:
    """One point as a line of text (or of JSON)."""
    from mlvc_tui.present import number
    from mlvc_tui.safetext import visible

    if as_json:
        from mlvc_tui.engine import dumps, to_jsonable

        return dumps({"event": "point", **to_jsonable(p), "alert": p.alert}, compact=True)
    limit = f"  {'>' if p.alert else '<='} {number(p.threshold)}" if p.threshold is not None else ""
    return (
        f"{'!' if p.alert else ' '} {visible(p.timestamp)}  {visible(p.feature)}  "
        f"{visible(p.metric)}  {number(p.value)}{limit}{'  ALERT' if p.alert else ''}"
    )


def _say(args: argparse.Namespace, event: str, text: str) -> None:
    """An event of the follow: to stderr as text, or to stdout as a JSON line."""
    if args.json:
        from mlvc_tui.engine import dumps

        sys.stdout.write(dumps({"event": event, "message": text}, compact=True) + "\n")
        sys.stdout.flush()
    else:
        print(f"-- {text}", file=sys.stderr, flush=True)


def _follow(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import RegistryWatcher

    # ctrl-c and a plain kill both stop following, even when started with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with open_registry(args) as reg:
        if args.branch and args.branch != reg.head and not reg.bare:
            raise BadInput(
                f"--follow reads the working tree, which is "
                f"{reg.head or 'a detached HEAD'}'s: check out {args.branch} first"
            )
        follow = reg.follow_drift()
        wake = threading.Event()
        watcher = RegistryWatcher.of(
            reg,
            lambda change: wake.set() if change.touches(DRIFT_PATH) else None,
            polling=True if args.poll is not None else None,
            interval=args.poll,
        )
        with watcher:
            _say(
                args,
                "start",
                f"following {DRIFT_PATH} in {reg.root} ({watcher.observer}); ctrl-c stops",
            )
            try:
                _loop(args, follow, wake)
            except KeyboardInterrupt:
                return 0
            finally:
                follow.close()
    return 0


def _loop(args: argparse.Namespace, follow: Any, wake: threading.Event) -> None:
    """Print what was appended each time the watcher says the log changed."""
    first, missing_said, error_said = True, False, None
    while True:
        backlog: list[Any] = []
        while True:
            update = follow.poll()
            if update.reset and not first:
                _say(
                    args,
                    "reset",
                    f"{DRIFT_PATH} was truncated, replaced or deleted: reading it from the top",
                )
                backlog.clear()
            if update.missing and not missing_said:
                _say(args, "missing", f"{DRIFT_PATH} does not exist yet: waiting for it")
            missing_said = update.missing
            if update.error and update.error != error_said:
                _say(args, "error", f"{DRIFT_PATH} cannot be read: {update.error}")
            error_said = update.error
            backlog.extend(update.points)
            if first and len(backlog) > args.lines:  # the existing log: its newest points
                backlog = backlog[len(backlog) - max(args.lines, 0) :]
            if not update.more:
                break
        if backlog:
            sys.stdout.write("".join(_line(p, args.json) + "\n" for p in backlog))
            sys.stdout.flush()
        first = False
        while not wake.wait(0.5):  # short waits: ctrl-c is noticed at once
            pass
        wake.clear()
