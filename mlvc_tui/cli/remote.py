"""`mlvc clone`, `fetch`, `push` and `server install-hook`: one registry, many machines.

Progress goes to stderr; `--json` prints the result on stdout. Exit codes: 0 done,
1 refused (a non-fast-forward, the server's hook), 2 bad input (wrong URL, failed login,
a server that does not answer, no such remote or branch); nothing changes locally on error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]

_LIST = 20  # lines of a fetch report before it is summed up


def _progress(args: argparse.Namespace) -> Any:
    from mlvc_tui.engine import stderr_progress

    return None if args.quiet else stderr_progress


def _moves(moves: Any) -> list[dict[str, Any]]:
    return [{"name": m.name, "old": m.old, "new": m.new} for m in moves]


def _short(sha: str | None) -> str:
    return sha[:8] if sha else "(none)"


def cmd_clone(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import clone, redact

    report = clone(args.url, args.path, _progress(args))
    f = report.fetched
    value = {
        "path": report.path,
        "url": redact(report.url),
        "branches": [m.name for m in f.branches],
        "tags": list(f.tags),
    }
    if args.json:
        from mlvc_tui.engine import dumps

        sys.stdout.write(dumps(value) + "\n")
    else:
        print(
            f"cloned {redact(report.url)} into {report.path}: "
            f"{len(f.branches)} branches, {len(f.tags)} tags"
        )
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import Registry, fetch, redact

    with Registry.open(args.C, empty_ok=True) as reg:
        report = fetch(reg, args.remote, _progress(args))
    value = {
        "remote": report.remote,
        "url": redact(report.url),
        "branches": _moves(report.branches),
        "tags": list(report.tags),
        "tag_conflicts": list(report.tag_conflicts),
        "notes": _moves([report.notes]) if report.notes else [],
    }
    if args.json:
        from mlvc_tui.engine import dumps

        sys.stdout.write(dumps(value) + "\n")
        return 0
    from mlvc_tui.safetext import visible

    if not report.changed:
        print(f"{report.remote}: up to date")
    for m in report.branches[:_LIST]:
        what = "new" if m.old is None else "deleted" if m.new is None else "moved"
        where = f"{visible(report.remote)}/{visible(m.name)}"
        print(f"{what:8} {where}  {_short(m.old)} -> {_short(m.new)}")
    if len(report.branches) > _LIST:
        print(f"... and {len(report.branches) - _LIST} more branches (--json lists them all)")
    for tag in report.tags[:_LIST]:
        print(f"new tag  {visible(tag)}")
    if len(report.tags) > _LIST:
        print(f"... and {len(report.tags) - _LIST} more tags")
    for tag in report.tag_conflicts:
        print(f"! tag {visible(tag)} differs on the server: kept the local one", file=sys.stderr)
    if report.notes:
        print("approvals updated")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from mlvc_tui.cli.common import open_registry
    from mlvc_tui.engine import push, redact

    remote, branches = args.remote, list(args.branches)
    with open_registry(args) as reg:
        if remote is not None and remote not in reg.remotes() and reg.branch_tip(remote):
            remote, branches = None, [remote, *branches]  # `mlvc push BRANCH`
        report = push(reg, branches, remote, _progress(args))
    value = {"remote": report.remote, "url": redact(report.url), "refs": _moves(report.refs)}
    if args.json:
        from mlvc_tui.engine import dumps

        sys.stdout.write(dumps(value) + "\n")
        return 0
    from mlvc_tui.safetext import visible

    if not report.refs:
        print(f"{report.remote}: everything up to date")
    for m in report.refs:
        print(f"pushed {visible(m.name)}  {_short(m.old)} -> {_short(m.new)}")
    return 0


def cmd_install_hook(args: argparse.Namespace) -> int:
    from mlvc_tui.engine.remote.hook import install_hook

    path = install_hook(args.bare_repo)
    if args.json:
        from mlvc_tui.engine import dumps

        sys.stdout.write(dumps({"hook": path}) + "\n")
    else:
        print(f"installed {path}")
    return 0


def cmd_hook_run(args: argparse.Namespace) -> int:
    from mlvc_tui.engine.remote.hook import run_pre_receive

    return run_pre_receive(args.bare_repo, sys.stdin.read())


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the remote commands to the `mlvc` parser."""
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p = sub.add_parser("clone", parents=[common, quiet], help="clone a registry from a server")
    p.add_argument("url")
    p.add_argument("path", nargs="?", default=None)
    p.set_defaults(func=cmd_clone)
    p = sub.add_parser(
        "fetch", parents=[common, quiet], help="fetch branches, tags and approvals from a remote"
    )
    p.add_argument("remote", nargs="?", default=None, help="default: the registry's remote")
    p.set_defaults(func=cmd_fetch)
    p = sub.add_parser(
        "push", parents=[common, quiet], help="push branches and their version tags (no force)"
    )
    p.add_argument("remote", nargs="?", default=None, help="default: the registry's remote")
    p.add_argument("branches", nargs="*", help="default: the checked-out branch")
    p.set_defaults(func=cmd_push)
    p = sub.add_parser("server", help="set up a server repository")
    server = p.add_subparsers(dest="server_command", metavar="COMMAND")
    server.required = True
    h = server.add_parser(
        "install-hook", parents=[common], help="install the pre-receive hook that enforces rules"
    )
    h.add_argument("bare_repo")
    h.set_defaults(func=cmd_install_hook)
    h = server.add_parser("pre-receive", help=argparse.SUPPRESS)
    h.add_argument("bare_repo")
    h.set_defaults(func=cmd_hook_run, json=False)
