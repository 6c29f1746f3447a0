"""`promote`, `rollback` and `approve` with `--remote [NAME]`: one atomic push to the server.

`[remote] push = true` in mlvc.toml makes it the default, and so does a clone without a
local prod (there is nothing local to write). Progress goes to stderr; the server's or
the race's reason is one line.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_remote_option", "remote_for", "run_approve", "run_promote", "run_rollback"]


def add_remote_option(p: argparse.ArgumentParser) -> None:
    """`--remote [NAME]`: write on the server (default NAME: the registry's remote)."""
    p.add_argument(
        "--remote",
        nargs="?",
        const="",
        default=None,
        metavar="NAME",
        help="write on the server in one atomic push (default remote: the registry's)",
    )
    p.add_argument("--local", action="store_true", help="write locally even if mlvc.toml pushes")


def remote_for(args: argparse.Namespace, reg: Any) -> str | None:
    """The remote to write to ('' for the default one), or None for a local write."""
    if getattr(args, "remote", None) is not None:
        return str(args.remote)
    if getattr(args, "local", False):
        return None
    from mlvc_tui.engine import pushes_by_default

    return "" if pushes_by_default(reg) else None


def _progress(args: argparse.Namespace) -> Any:
    from mlvc_tui.engine import stderr_progress

    return None if args.json else stderr_progress


def _where(result: Any) -> str:
    from mlvc_tui.engine import redact

    return f"{result.remote} ({redact(result.url)})"


def run_promote(args: argparse.Namespace, reg: Any, remote: str) -> int:
    from mlvc_tui.cli.common import ask as _ask
    from mlvc_tui.cli.common import emit
    from mlvc_tui.cli.promote_render import done_json, plan_json, render_plan
    from mlvc_tui.engine import remote_promote

    name = remote or None
    if args.to not in (None, reg.prod):
        from mlvc_tui.engine import BadInput

        raise BadInput("--remote promotes into prod only: drop --to, or promote locally")
    if args.dry_run or not args.yes:
        preview = remote_promote(reg, args.branch, name, dry_run=True, progress=_progress(args))
        plan = preview.promotion
        emit(args, {**plan_json(plan), "remote": preview.remote}, lambda: render_plan(plan))
        if args.dry_run:
            return 0
        _ask(f"Promote {plan.branch} into {plan.target} on {_where(preview)} as {plan.tag}?")
    result = remote_promote(reg, args.branch, name, progress=_progress(args))
    plan, done = result.promotion, result.landed
    value = {**done_json(plan_json(plan), done), "remote": result.remote}
    value["attempts"] = result.attempts
    if args.json:
        emit(args, value, lambda: None)
    else:
        print(
            f"promoted {plan.branch} ({plan.candidate.short_id}) into {plan.target} on "
            f"{_where(result)}: commit {done.commit[:8]}"
            + (f", tag {done.tag}" if done.tag else "")
            + (f" (re-planned {result.attempts - 1}x)" if result.attempts > 1 else "")
        )
    return 0


def run_rollback(args: argparse.Namespace, reg: Any, remote: str) -> int:
    from mlvc_tui.cli.common import ask as _ask
    from mlvc_tui.cli.common import emit
    from mlvc_tui.cli.promote_render import done_json, render_rollback, rollback_json
    from mlvc_tui.engine import remote_rollback

    name = remote or None
    if args.dry_run or not args.yes:
        preview = remote_rollback(reg, args.to, name, dry_run=True, progress=_progress(args))
        plan = preview.rollback
        emit(args, rollback_json(plan), lambda: render_rollback(plan))
        if args.dry_run:
            return 0
        _ask(f"Roll {plan.target} on {_where(preview)} back to {plan.to.tag or plan.to.version}?")
    result = remote_rollback(reg, args.to, name, progress=_progress(args))
    plan, done = result.rollback, result.landed
    value = {**done_json(rollback_json(plan), done), "remote": result.remote}
    if args.json:
        emit(args, value, lambda: None)
    else:
        print(
            f"rolled {plan.target} on {_where(result)} back to "
            f"{plan.to.tag or plan.to.version}: commit {done.commit[:8]}"
        )
    return 0


def run_approve(args: argparse.Namespace, reg: Any, remote: str) -> int:
    from mlvc_tui.cli.common import emit
    from mlvc_tui.engine import approvals_of, remote_approve
    from mlvc_tui.safetext import visible

    result = remote_approve(reg, args.branch, remote or None, args.user, progress=_progress(args))
    mine = result.approved
    everyone = approvals_of(reg, mine.commit)
    value = {
        "branch": args.branch,
        "commit": mine.commit,
        "added": result.added,
        "approval": mine,
        "approvals": everyone,
        "remote": result.remote,
    }
    lines = [
        f"approved {args.branch} ({mine.commit[:8]}) as {mine.user} on {_where(result)}",
        f"{len(everyone)} approval(s): " + ", ".join(a.user for a in everyone),
    ]
    emit(args, value, lambda: "\n".join(visible(line) for line in lines))
    return 0
