"""`mlvc doctor`: what a crash can leave behind in a repository, and (with --fix) removing it.

Git lock files (``refs/heads/prod.lock`` and the like): a lock is removed only when its
writer is provably gone (older than a few seconds, and no process holds it open). Then the
tags a promotion or rollback left out (the version tag, GTO's stage tags) on prod and the
environments: listed, and recreated from the commits' records with --fix.
"""

from __future__ import annotations

import argparse
from typing import Any

from mlvc_tui.cli.common import emit

__all__ = ["register"]


def cmd_doctor(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import locks as lockfiles

    locks = lockfiles.find_locks(lockfiles.git_dir(args.C))
    rows = []
    for lock in locks:
        removed = bool(args.fix and lockfiles.recover(lock))
        rows.append(
            {
                "path": lock.relative,
                "age": round(lock.age, 1),
                "held": lock.held,
                "stale": lockfiles.stale(lock),
                "removed": removed,
                "text": lockfiles.describe(lock),
            }
        )

    tags = _tags(args)

    def render() -> Any:
        from mlvc_tui.cli.render import t

        if not rows and not tags:
            return t("no lock files and no missing tags: nothing to repair")
        lines = []
        for row in rows:
            if row["removed"]:
                lines.append(f"removed {row['text']}")
            elif row["stale"]:
                lines.append(f"{row['text']}: its writer is gone; `mlvc doctor --fix` removes it")
            else:
                lines.append(f"{row['text']}: left alone (its writer may still be running)")
        for tag in tags:
            if tag["recreated"]:
                lines.append(f"recreated tag {tag['tag']} ({tag['branch']})")
            else:
                lines.append(
                    f"tag {tag['tag']} is missing ({tag['branch']}): "
                    "`mlvc doctor --fix` recreates it"
                )
        return t("\n".join(lines))

    emit(args, {"locks": rows, "tags": tags}, render)
    return 0


def _tags(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The version and stage tags a crash left out (recreated with --fix)."""
    from mlvc_tui.cli.common import open_registry
    from mlvc_tui.engine import MlvcError, tag_repairs

    try:
        with open_registry(args) as reg:
            found = tag_repairs(reg, fix=args.fix)
    except MlvcError:
        return []  # not a registry mlvc can read: the locks are all it can help with
    return [{"branch": b, "tag": t, "recreated": done} for b, t, done in found]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add doctor to the `mlvc` parser."""
    p = sub.add_parser(
        "doctor",
        parents=[common],
        help="find (and --fix) lock files and missing tags a crash left behind",
    )
    p.add_argument(
        "--fix",
        action="store_true",
        help="remove locks whose writer is gone, recreate missing tags",
    )
    p.set_defaults(func=cmd_doctor)
