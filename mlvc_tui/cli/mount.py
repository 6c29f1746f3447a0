"""`mlvc mount REF DIR` and `mlvc umount DIR`: any ref as a read-only folder (FUSE).

In the foreground by default (Ctrl-C or SIGTERM unmounts); ``--background`` starts the
same command detached, waits until the folder is mounted, and returns.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from mlvc_tui.cli.common import emit

__all__ = ["register"]


def _ready_line(args: argparse.Namespace, path: Path, commit: str, pid: int) -> str:
    if args.json:
        fields = {"ref": args.ref, "commit": commit, "mountpoint": str(path), "pid": pid}
        return json.dumps(fields)
    how = "following it" if args.follow else "read-only"
    ends = f"`mlvc umount {path}`" if args.background else f"Ctrl-C or `mlvc umount {path}`"
    return f"mounted {args.ref} ({commit[:12]}) at {path}, {how} (pid {pid}); {ends} unmounts"


def cmd_mount(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import mount_preflight, serve_mount, spawn_mount

    if args.background:
        mount = spawn_mount(args.C, args.ref, args.dir, prefix=args.path or "", follow=args.follow)
        print(_ready_line(args, mount.path, mount.commit, mount.pid))
        return 0
    path = mount_preflight(args.dir)

    def ready(target: Any) -> None:
        print(_ready_line(args, path, target.commit, os.getpid()), flush=True)

    serve_mount(args.C, args.ref, path, prefix=args.path or "", follow=args.follow, on_ready=ready)
    return 0


def cmd_umount(args: argparse.Namespace) -> int:
    from mlvc_tui.engine import unmount

    line = unmount(args.dir)
    emit(args, {"unmounted": str(Path(args.dir).absolute())}, lambda: line)
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `mount` and `umount` to the `mlvc` command."""
    p = sub.add_parser(
        "mount",
        parents=[common],
        help="show a branch, tag, version or commit as a read-only folder (FUSE)",
    )
    p.add_argument(
        "ref", help="branch, tag, model@vX.Y.Z, commit, or models:/<name>@<env> (its env branch)"
    )
    p.add_argument("dir", help="the mount point: an empty folder (made if missing)")
    p.add_argument("--path", default=None, help="show only this folder of the tree (models/)")
    p.add_argument(
        "--follow", action="store_true", help="follow the branch as it moves (between opens)"
    )
    p.add_argument(
        "--background", action="store_true", help="return once mounted; `mlvc umount DIR` ends it"
    )
    p.set_defaults(func=cmd_mount)
    p = sub.add_parser("umount", parents=[common], help="unmount what `mlvc mount` mounted")
    p.add_argument("dir")
    p.set_defaults(func=cmd_umount)
