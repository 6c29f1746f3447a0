"""`mlvc promote`, `approve`, `rollback` and `versions`: merge-to-prod from scripts and CI.

Exit codes: 0 done (or a dry run that would pass), 1 refused (a gate, a conflict, a
concurrent change, a dirty working tree, a cancelled confirmation), 2 bad usage. Changing
an environment asks for confirmation on a terminal; without one, ``--yes`` is required.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mlvc_tui.cli.common import ask as _ask
from mlvc_tui.cli.remote_writes import (
    add_remote_option,
    remote_for,
    run_approve,
    run_promote,
    run_rollback,
)
from mlvc_tui.engine import BadInput, Refused

__all__ = ["register"]


def _confirm_possible(args: argparse.Namespace, what: str) -> None:
    """Refuse early (exit 2) when there is nobody to ask and no --yes."""
    if not args.yes and not args.dry_run and not sys.stdin.isatty():
        raise BadInput(
            f"{what} changes an environment: pass --yes to confirm (there is no terminal to ask)"
        )


def _stream(args: argparse.Namespace) -> Any:
    if args.json:
        return None
    from mlvc_tui.safetext import visible

    def out(line: str) -> None:
        sys.stderr.write(f"  | {visible(line)}\n")
        sys.stderr.flush()

    return out


def _run_changed(args: argparse.Namespace, plan: Any) -> bool:
    """Whether the user lets the check run code the candidate changed: --run-check, --yes
    (not on a dry run), or a yes on the terminal."""
    if not plan.check_changes or args.run_check or (args.yes and not args.dry_run):
        return bool(args.run_check or (args.yes and not args.dry_run))
    if args.json or not sys.stdin.isatty():
        return False
    from mlvc_tui.safetext import visible

    more = len(plan.check_changes) - 1
    what = visible(plan.check_changes[0]) + (f" and {more} more" if more > 0 else "")
    sys.stderr.write(
        f"{visible(plan.branch)} changes {what}, which the check executes.\n"
        "Run the check on it in the sandbox? [y/N] "
    )
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def cmd_promote(args: argparse.Namespace) -> int:
    from mlvc_tui.cli.common import emit, open_registry
    from mlvc_tui.cli.promote_render import done_json, plan_json, render_plan
    from mlvc_tui.engine import apply_promotion, plan_promotion, run_plan_check

    _confirm_possible(args, "promote")
    with open_registry(args) as reg:
        if (remote := remote_for(args, reg)) is not None:
            return run_promote(args, reg, remote)
        plan = plan_promotion(reg, args.branch, args.to, run_check=False)
        if plan.check is not None:
            plan = run_plan_check(reg, plan, _stream(args), run_changed=_run_changed(args, plan))
        value = plan_json(plan)
        if args.dry_run or not plan.ok:
            emit(args, value, lambda: render_plan(plan))
            if not plan.ok:
                first = plan.failed[0]
                raise Refused(f"gate {first.name} failed: {first.reason}; nothing was changed")
            return 0
        if not args.json:
            emit(args, value, lambda: render_plan(plan))
        if not args.yes:
            _ask(
                f"Promote {plan.branch} into {plan.target}"
                + (f" as {plan.tag}?" if plan.tag else "?")
            )
        done = apply_promotion(reg, plan)
    if args.json:
        emit(args, done_json(value, done), lambda: None)
    else:
        print(
            f"promoted {plan.branch} ({plan.candidate.short_id}) into {plan.target}: "
            f"commit {done.commit[:8]}" + (f", tag {done.tag}" if done.tag else "")
        )
        for tag in done.repaired:
            print(f"recreated tag {tag} (an earlier promotion was interrupted)")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from mlvc_tui.cli.common import emit, open_registry
    from mlvc_tui.cli.promote_render import done_json, render_rollback, rollback_json
    from mlvc_tui.engine import apply_rollback, plan_rollback

    _confirm_possible(args, "rollback")
    with open_registry(args) as reg:
        if (remote := remote_for(args, reg)) is not None:
            return run_rollback(args, reg, remote)
        plan = plan_rollback(reg, args.to, args.branch)
        value = rollback_json(plan)
        if args.dry_run or not args.json:
            emit(args, value, lambda: render_rollback(plan))
        if plan.check is not None and not plan.check.passed:
            raise Refused(f"gate check failed: {plan.check.reason}; nothing was changed")
        if args.dry_run:
            return 0
        if plan.warning and args.to is None and (args.yes or not sys.stdin.isatty()):
            raise Refused(
                f"rolling back {plan.warning}. Name the version to go ahead: "
                f"mlvc rollback --to {plan.to.version}; nothing was changed"
            )
        if not args.yes:
            _ask(
                f"Roll {plan.target} back to {plan.to.tag or plan.to.version}"
                + (f" ({plan.warning})?" if plan.warning else "?")
            )
        done = apply_rollback(reg, plan)
    if args.json:
        emit(args, done_json(value, done), lambda: None)
    else:
        print(
            f"rolled {plan.target} back to {plan.to.tag or plan.to.version}: "
            f"commit {done.commit[:8]}"
        )
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from mlvc_tui.cli.common import emit, open_registry
    from mlvc_tui.engine import approvals_of, approve

    with open_registry(args) as reg:
        if (remote := remote_for(args, reg)) is not None:
            return run_approve(args, reg, remote)
        added, mine = approve(reg, args.branch, args.user)
        everyone = approvals_of(reg, mine.commit)
    value = {
        "branch": args.branch,
        "commit": mine.commit,
        "added": added,
        "approval": mine,
        "approvals": everyone,
    }
    verb = "approved" if added else "already approved"
    lines = [
        f"{verb} {args.branch} ({mine.commit[:8]}) as {mine.label}",
        f"{len(everyone)} approval(s): " + ", ".join(a.label for a in everyone),
    ]
    from mlvc_tui.safetext import visible

    emit(args, value, lambda: "\n".join(visible(line) for line in lines))
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    from mlvc_tui.cli.common import emit, open_registry
    from mlvc_tui.cli.promote_render import render_versions, versions_json
    from mlvc_tui.engine import (
        gto_state,
        model_name,
        repair_stage_tags,
        repair_tags,
        version_history,
    )

    with open_registry(args) as reg:
        target = args.branch or reg.prod
        if target is None:
            raise BadInput("no prod branch (looked for prod, main, master): name one with -b")
        entries = version_history(reg, target)
        repaired = repair_tags(reg, entries)
        if repaired:
            entries = version_history(reg, target)
        staged = repair_stage_tags(reg, target, entries)
        if staged:
            entries, repaired = version_history(reg, target), repaired + staged
        gto = gto_state(reg, model_name(reg, target))
    emit(args, versions_json(entries, repaired, gto), lambda: render_versions(entries, gto))
    if repaired and not args.json:
        print("recreated missing tag(s): " + ", ".join(repaired), file=sys.stderr)
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add promote, approve, rollback and versions to the `mlvc` parser."""
    p = sub.add_parser(
        "promote", parents=[common], help="merge a branch into an environment, through the gates"
    )
    p.add_argument("branch")
    p.add_argument("--to", default=None, metavar="ENV", help="target branch (default: prod)")
    p.add_argument("--dry-run", action="store_true", help="run every gate, change nothing")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--run-check",
        action="store_true",
        help="run the check (sandboxed) even when the candidate changes the code it runs",
    )
    add_remote_option(p)
    p.set_defaults(func=cmd_promote)
    p = sub.add_parser("approve", parents=[common], help="approve the commit a branch is at")
    p.add_argument("branch")
    p.add_argument(
        "--user",
        default=None,
        help="a name recorded beside your git identity (it still counts as yours)",
    )
    add_remote_option(p)
    p.set_defaults(func=cmd_approve)
    p = sub.add_parser(
        "rollback", parents=[common], help="restore an earlier version's model as a new commit"
    )
    p.add_argument(
        "--to",
        default=None,
        metavar="VERSION",
        help="version to restore (default: the one before the current)",
    )
    p.add_argument(
        "-b", "--branch", default=None, metavar="ENV", help="environment (default: prod)"
    )
    p.add_argument("--dry-run", action="store_true", help="show what it restores, change nothing")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_remote_option(p)
    p.set_defaults(func=cmd_rollback)
    p = sub.add_parser("versions", parents=[common], help="every promotion and rollback")
    p.add_argument(
        "-b", "--branch", default=None, metavar="ENV", help="environment (default: prod)"
    )
    p.set_defaults(func=cmd_versions)
