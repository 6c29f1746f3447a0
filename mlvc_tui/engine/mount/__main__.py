"""The background mount process: ``python -m mlvc_tui.engine.mount REPO REF DIR [--path P]
[--follow]``. Prints one JSON line (``commit``, ``pid``) once mounted; errors are one line
on stderr and exit 2. Started by :func:`mlvc_tui.engine.mount.run.spawn`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mlvc_tui.engine.errors import MlvcError
from mlvc_tui.engine.mount.run import serve


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m mlvc_tui.engine.mount")
    parser.add_argument("repo")
    parser.add_argument("ref")
    parser.add_argument("dir")
    parser.add_argument("--path", default="")
    parser.add_argument("--follow", action="store_true")
    args = parser.parse_args()

    def ready(target: object) -> None:
        line = {"commit": getattr(target, "commit", ""), "pid": os.getpid()}
        sys.stdout.write(json.dumps(line) + "\n")  # one write, even under python -u
        sys.stdout.flush()

    try:
        serve(
            args.repo,
            args.ref,
            Path(args.dir),
            prefix=args.path,
            follow=args.follow,
            on_ready=ready,
        )
    except MlvcError as exc:
        print(f"mlvc: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
