"""The mlvc terminal app: `mlvc-tui [PATH]` or `mlvc-tui --demo [--seed N]`; `--serve`
serves the same app to browser tabs (mlvc_tui/serve.py).

`make_app(path)` builds the app (the CLI and every test use it); screens live in
`mlvc_tui.screens` and call the engine through `app.session` from thread workers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.widgets import Input

from mlvc_tui.engine import DRIFT_PATH, MlvcError, Registry
from mlvc_tui.palette import MlvcCommands
from mlvc_tui.session import AppState, Session
from mlvc_tui.wire import lean_driver

__all__ = ["MlvcApp", "main", "make_app"]


class MlvcApp(App[None]):
    """A registry at a glance: branches × artifacts, and the screens behind each branch."""

    CSS_PATH = "app.tcss"
    TITLE = "mlvc"
    COMMANDS: ClassVar = App.COMMANDS | {MlvcCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+p", "command_palette", "Commands", show=False),
    ]

    def __init__(
        self, path: str | Path, *, now: datetime | None = None, label: str | None = None
    ) -> None:
        super().__init__()
        self.session = Session(path)
        self.fixed_now = now
        self.label = label  # shown instead of the path (e.g. for the temporary demo)
        self.state = AppState()

    # the shared state, by its short names
    @property
    def prod(self) -> str | None:
        return self.state.prod

    @prod.setter
    def prod(self, value: str | None) -> None:
        self.state.prod = value

    @property
    def branch_names(self) -> tuple[str, ...]:
        return self.state.branch_names

    @branch_names.setter
    def branch_names(self, value: tuple[str, ...]) -> None:
        self.state.branch_names = value

    @property
    def refreshes(self) -> int:
        return self.state.refreshes

    @refreshes.setter
    def refreshes(self, value: int) -> None:
        self.state.refreshes = value

    @property
    def head(self) -> str | None:
        return self.state.head

    @head.setter
    def head(self, value: str | None) -> None:
        self.state.head = value

    def now(self) -> datetime:
        """The time relative dates are measured from (fixed in tests)."""
        return self.fixed_now or datetime.now(UTC)

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this terminal (or the browser), sending only the cells a
        repaint changes (mlvc_tui/wire)."""
        return lean_driver(super().get_driver_class())

    def on_mount(self) -> None:
        """Called when the app starts: show the grid."""
        from mlvc_tui.screens.grid import GridScreen

        self.push_screen(GridScreen())

    def on_key(self, event: events.Key) -> None:
        """Called on a key no widget took. Typed while a text box has focus, it was sent
        on before the box took focus (the `exp` of a quickly typed `/exp`): the box's."""
        box = self.focused
        if isinstance(box, Input) and event.is_printable and event.character is not None:
            event.stop()
            box.insert_text_at_cursor(event.character)

    def push_screen(self, *args: Any, **kwargs: Any) -> Any:
        """Open a screen or dialog; hints said for the screen behind go (they would hide its
        instructions: "r rolls back prod" over the help)."""
        self.clear_notifications()
        return super().push_screen(*args, **kwargs)

    def on_unmount(self) -> None:
        """Called when the app stops: close the registry."""
        self.session.close()

    # -- navigation, shared by the screens and the command palette -------------------------

    def _push(self, module: str, name: str, *args: str | None) -> None:
        path = f"mlvc_tui.screens.{module}"
        try:
            screen_type = getattr(importlib.import_module(path), name)
        except ImportError as exc:  # not installed yet, or broken: say so, never crash
            missing = isinstance(exc, ModuleNotFoundError) and exc.name == path
            self.notify(
                f"The {module} screen is not available yet"
                if missing
                else f"The {module} screen failed to load: {exc}",
                severity="warning" if missing else "error",
            )
            return
        self.push_screen(screen_type(*args))

    def open_branch(self, branch: str) -> None:
        """Show one branch's artifacts, commits and metrics."""
        self._push("branch", "BranchScreen", branch)

    def open_diff(self, branch: str, against: str | None = None) -> None:
        """Compare a branch's metrics with prod (or with ``against``)."""
        base = against or self.prod
        if base is None:
            self.notify("This registry has no prod branch to compare with", severity="warning")
            return
        self._push("diff", "DiffScreen", base, branch)

    def open_lineage(self, branch: str) -> None:
        """Show where the branch's model came from."""
        self._push("lineage", "LineageScreen", branch)

    def open_drift(self, branch: str) -> None:
        """Show the branch's drift log: the checked-out branch's live, as the working tree
        writes it (the design's "t: drift tail"); any other branch's as committed."""
        if branch == self.head:
            self.open_tail("monitoring/drift.csv", branch)
        else:
            self._push("drift", "DriftScreen", branch)

    def open_promote(self, branch: str) -> None:
        """Open the promotion dialog (gates first) for ``branch``."""
        self._push("promote", "PromoteScreen", branch)

    def open_ab(self) -> None:
        """Show the traffic split on prod and the A/B results of its variants."""
        self._push("ab", "ABScreen")

    def open_tail(self, path: str | None = None, branch: str | None = None) -> None:
        """Follow a working-tree file live (default: the drift log) from ``branch``'s view."""
        self._push("tail", "TailScreen", path or DRIFT_PATH, branch)

    def action_help(self) -> None:
        """Called when the user presses ?: show every key."""
        from mlvc_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def refresh_registry(self) -> None:
        """Re-read refs, then reload the screen in front (and the grid under it)."""
        for screen in reversed(self.screen_stack):
            reload = getattr(screen, "reload", None)
            if callable(reload):
                reload(refresh=True)
                break


def make_app(path: str | Path, *, now: datetime | None = None, label: str | None = None) -> MlvcApp:
    """The app on the registry at ``path``; a fixed ``now`` makes relative dates stable."""
    return MlvcApp(path, now=now, label=label)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlvc-tui", description="Browse a git model registry in the terminal."
    )
    parser.add_argument("path", nargs="?", default=".", help="the registry (default: here)")
    parser.add_argument("--demo", action="store_true", help="open a fresh demo registry")
    parser.add_argument("--seed", type=int, default=7, help="seed of the demo registry")
    parser.add_argument(
        "--poll",
        nargs="?",
        const=1.0,
        type=float,
        metavar="SECONDS",
        help="watch by polling (every SECONDS, default 1), not inotify: "
        "for network file systems (same as MLVC_WATCH=poll)",
    )
    parser.add_argument("--label", help=argparse.SUPPRESS)  # shown instead of the path
    web = parser.add_argument_group("browser", "serve the app to browser tabs (--serve)")
    web.add_argument(
        "--serve", action="store_true", help="serve the app on a local URL (with a token)"
    )
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    web.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    web.add_argument(
        "--max-sessions", type=int, default=4, metavar="N", help="tabs open at once (default 4)"
    )
    web.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not loopback (the token is still required)",
    )
    return parser


def _remove_on_hangup(folder: str) -> None:
    """A closed terminal (an SSH drop: SIGHUP) or a kill (SIGTERM) leaves no demo behind.

    The terminal is gone, so there is nothing to restore or say: remove and exit at once.
    """

    def gone(signum: int, _frame: object) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        os._exit(128 + signum)

    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, gone)


def _serve(args: argparse.Namespace, path: Path, label: str | None) -> int:
    from mlvc_tui.serve import ServeOptions, serve

    argv = [sys.executable, "-m", "mlvc_tui.app", str(path.resolve())]
    if label:
        argv += ["--label", label]
    if args.poll is not None:
        argv += ["--poll", str(args.poll)]
    options = ServeOptions(
        app_argv=tuple(argv),
        title=f"mlvc · {label or path.resolve()}",
        host=args.host,
        port=args.port,
        max_sessions=args.max_sessions,
    )
    return serve(options)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `mlvc-tui`; returns the exit code (2 for a bad path)."""
    args = _parser().parse_args(argv)
    if args.serve:
        from mlvc_tui.serve import check_host

        refused = check_host(args.host, allow_remote=args.allow_remote)
        if refused or args.max_sessions < 1 or not 0 <= args.port < 65536:
            reason = refused or "--max-sessions must be at least 1 and --port 0 to 65535"
            print(f"mlvc-tui: {reason}", file=sys.stderr)
            return 2
    if args.poll is not None:  # read by the live watcher (mlvc_tui/engine/live/observers.py)
        os.environ.update(MLVC_WATCH="poll", MLVC_POLL_INTERVAL=str(args.poll))
    if args.demo:
        from mlvc_tui.engine import build_demo

        with tempfile.TemporaryDirectory(prefix="mlvc-demo-") as tmp:
            _remove_on_hangup(tmp)
            path = Path(tmp) / "registry"
            build_demo(path, seed=args.seed)
            label = f"demo (seed {args.seed})"
            if args.serve:
                return _serve(args, path, label)
            make_app(path, label=label).run()
        return 0
    try:
        Registry.open(args.path).close()
    except MlvcError as exc:
        print(f"mlvc-tui: {exc}", file=sys.stderr)
        return 2
    if args.serve:
        return _serve(args, Path(args.path), args.label)
    make_app(args.path, label=args.label).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
