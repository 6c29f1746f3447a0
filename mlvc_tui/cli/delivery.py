"""`mlvc route | delivery | canary | switch | ab ...`: traffic on prod, from scripts and CI.

Each command that shifts traffic is one commit to `delivery.toml` on prod (exit 0), or a
one-line refusal with nothing changed (exit 1 refused, 2 bad input). Neither pandas nor
Textual is imported; handlers import the engine when they run.
"""

from __future__ import annotations

import argparse
from typing import Any

from mlvc_tui.cli.common import emit, open_registry
from mlvc_tui.cli.remote_writes import add_remote_option

__all__ = ["register"]


def _write(args: argparse.Namespace, run: Any) -> int:
    """Run a delivery change locally, or on the server with ``--remote`` (one atomic push)."""
    from mlvc_tui.cli.remote_writes import remote_for

    with open_registry(args) as reg:
        remote = remote_for(args, reg)
        if remote is None:
            change = run(reg)
        else:
            from mlvc_tui.engine import remote_change, stderr_progress

            progress = None if args.json else stderr_progress
            change = remote_change(reg, run, remote or None, progress=progress).value
    return _change(args, change)


def _change(args: argparse.Namespace, change: Any) -> int:
    from mlvc_tui.cli.delivery_render import render_change

    value = {
        "commit": change.commit,
        "message": change.message,
        "moved": change.moved,
        "delivery": change.after,
    }
    emit(args, value, lambda: render_change(change))
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import route as route_unit

    with open_registry(args) as reg:
        route = route_unit(reg, args.unit, args.at)
    emit(
        args,
        route,
        lambda: (
            f"{route.branch}\t(bucket {route.bucket} of test {route.test}, "
            f"{route.role} at {route.weight:g}%)"
        ),
    )
    return 0


def cmd_delivery(args: argparse.Namespace) -> int:
    from mlvc_tui.cli.delivery_render import render_delivery
    from mlvc_tui.engine import delivery_log, read_delivery

    with open_registry(args) as reg:
        current = read_delivery(reg, args.at)
        log = delivery_log(reg, args.limit)
    emit(args, {"delivery": current, "log": log}, lambda: render_delivery(current, log))
    return 0


def _run_check_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--run-check",
        action="store_true",
        help="let the check gate run check code the candidate changed (in a sandbox)",
    )


def cmd_canary(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import BadInput, canary, canary_abort, canary_step

    chosen = [bool(args.branch), args.step, args.abort]
    if sum(chosen) != 1:
        raise BadInput("give a BRANCH with --percent, or --step, or --abort (one of them)")
    if args.branch and args.percent is None:
        raise BadInput("a canary needs --percent N (the share of units it serves)")
    if not args.branch and (args.percent is not None or args.steps is not None):
        raise BadInput("--percent and --steps go with a BRANCH")
    steps = _steps(args.steps) if args.steps is not None else None

    def run(reg: Any) -> Any:
        if args.step:
            return canary_step(reg)
        if args.abort:
            return canary_abort(reg)
        return canary(reg, args.branch, args.percent, steps, run_changed=args.run_check)

    return _write(args, run)


def _steps(text: str) -> list[float]:
    from mlvc_tui.engine import BadInput

    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise BadInput(f"--steps must be percentages separated by commas, not {text!r}") from None


def cmd_switch(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import switch

    return _write(args, lambda reg: switch(reg, args.standby, run_changed=args.run_check))


def cmd_ab_start(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import start_ab

    return _write(
        args,
        lambda reg: start_ab(
            reg, args.branches, args.weights, bandit=args.bandit, test=args.test, floor=args.floor
        ),
    )


def cmd_ab_weights(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import set_weights

    return _write(args, lambda reg: set_weights(reg, args.weights))


def cmd_ab_update(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import rebalance

    return _write(args, rebalance)


def cmd_ab_stop(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import stop_ab

    return _write(args, lambda reg: stop_ab(reg, args.keep))


def cmd_ab_report(args: argparse.Namespace) -> int:
    from mlvc_tui.cli.delivery_render import render_report
    from mlvc_tui.engine import ab_report

    with open_registry(args) as reg:
        report = ab_report(reg, args.at, test=args.test)
    emit(args, report, lambda: render_report(report))
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the delivery commands to `mlvc`."""
    p = sub.add_parser("route", parents=[common], help="which branch serves a unit (sticky)")
    p.add_argument("unit", metavar="UNIT_ID")
    p.add_argument("--at", default=None, metavar="REF", help="the split at REF (default prod)")
    p.set_defaults(func=cmd_route)
    p = sub.add_parser(
        "delivery", parents=[common], help="the traffic split on prod and who changed it when"
    )
    p.add_argument("--at", default=None, metavar="REF")
    p.add_argument("-n", "--limit", type=int, default=10)
    p.set_defaults(func=cmd_delivery)
    p = sub.add_parser(
        "canary", parents=[common], help="send a share of traffic to a branch; --step up or --abort"
    )
    p.add_argument("branch", nargs="?", metavar="BRANCH")
    p.add_argument("--percent", type=float, default=None, metavar="N")
    p.add_argument(
        "--steps", default=None, metavar="P1,P2,...", help="the step plan (default 1,5,25,50,100)"
    )
    p.add_argument("--step", action="store_true", help="move to the next step of the plan")
    p.add_argument("--abort", action="store_true", help="send every unit back to the baseline")
    _run_check_option(p)
    add_remote_option(p)
    p.set_defaults(func=cmd_canary)
    p = sub.add_parser(
        "switch", parents=[common], help="blue/green: flip live and standby (or name a --standby)"
    )
    p.add_argument("--standby", default=None, metavar="BRANCH")
    _run_check_option(p)
    add_remote_option(p)
    p.set_defaults(func=cmd_switch)
    ab = sub.add_parser("ab", help="A/B/n tests and bandits between branches")
    verbs = ab.add_subparsers(dest="verb", metavar="VERB", parser_class=sub._parser_class)
    verbs.required = True
    p = verbs.add_parser("start", parents=[common], help="start a test; the first is control")
    p.add_argument("branches", nargs="+", metavar="BRANCH")
    p.add_argument("--weights", default=None, metavar="W1,W2,...", help="percent, sum 100")
    p.add_argument("--bandit", action="store_true", help="weights follow Thompson sampling")
    p.add_argument("--floor", type=float, default=1.0, help="bandit: least weight per arm")
    p.add_argument("--test", default=None, metavar="ID", help="the test id (hash salt)")
    add_remote_option(p)
    p.set_defaults(func=cmd_ab_start)
    p = verbs.add_parser("weights", parents=[common], help="new weights for the running test")
    p.add_argument("weights", metavar="W1,W2,...")
    add_remote_option(p)
    p.set_defaults(func=cmd_ab_weights)
    p = verbs.add_parser(
        "update",
        parents=[common],
        help="bandit: commit the Thompson-sampling weights of the results",
    )
    add_remote_option(p)
    p.set_defaults(func=cmd_ab_update)
    p = verbs.add_parser("stop", parents=[common], help="stop the test: prod serves all again")
    p.add_argument(
        "--keep",
        default=None,
        metavar="BRANCH",
        help="a variant that serves all instead (until promoted)",
    )
    add_remote_option(p)
    p.set_defaults(func=cmd_ab_stop)
    p = verbs.add_parser("report", parents=[common], help="each variant against control")
    p.add_argument(
        "--at",
        default=None,
        metavar="REF",
        help="the test in delivery.toml at REF (e.g. prod~1 after a stop)",
    )
    p.add_argument(
        "--test",
        default=None,
        metavar="ID",
        help="the test with this id, running or finished (its own rows only)",
    )
    p.set_defaults(func=cmd_ab_report)
