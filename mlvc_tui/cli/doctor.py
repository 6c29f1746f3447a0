"""`mlvc doctor`: what a crash can leave behind in a repository, and (with --fix) removing it.

Today: git lock files (``refs/heads/prod.lock`` and the like). A lock is removed only when
its writer is provably gone (older than a few seconds, and no process holds it open).
"""

from __future__ import annotations

import argparse
from typing import Any

from mlvc_tui.cli.common import emit

__all__ = ["register"]


def cmd_doctor(args: argparse.Namespace) -> int:
    from mlvc_tui.engine.git.locks import describe, find_locks, git_dir, recover, stale

    locks = find_locks(git_dir(args.C))
    rows = []
    for lock in locks:
        removed = bool(args.fix and recover(lock))
        rows.append(
            {
                "path": lock.relative,
                "age": round(lock.age, 1),
                "held": lock.held,
                "stale": stale(lock),
                "removed": removed,
                "text": describe(lock),
            }
        )

    def render() -> Any:
        from mlvc_tui.cli.render import t

        if not rows:
            return t("no lock files: nothing to repair")
        lines = []
        for row in rows:
            if row["removed"]:
                lines.append(f"removed {row['text']}")
            elif row["stale"]:
                lines.append(f"{row['text']}: its writer is gone; `mlvc doctor --fix` removes it")
            else:
                lines.append(f"{row['text']}: left alone (its writer may still be running)")
        return t("\n".join(lines))

    emit(args, {"locks": rows}, render)
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add doctor to the `mlvc` parser."""
    p = sub.add_parser(
        "doctor", parents=[common], help="find (and --fix) lock files a crash left behind"
    )
    p.add_argument("--fix", action="store_true", help="remove locks whose writer is gone")
    p.set_defaults(func=cmd_doctor)
