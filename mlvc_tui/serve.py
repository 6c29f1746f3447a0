"""`mlvc-tui --serve`: the same app in browser tabs, through textual-serve, behind a token.

Each tab's websocket starts its own `mlvc-tui` process (in its own process group, so
closing the tab or stopping the server kills it and anything it started). Every request
needs the token printed in the URL (first line of stdout); the page itself sets a cookie
so its scripts and styles load, and the websocket carries the token in its path. Nothing
is fetched from outside the machine: the page, the terminal script and the font are ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import html
import ipaddress
import os
import secrets
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from importlib.resources import files
from pathlib import Path
from string import Template

from aiohttp import WSCloseCode, WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

__all__ = ["ServeOptions", "check_host", "serve"]

STATIC = Path(str(files("textual_serve") / "static"))
PAGE = Template((files("mlvc_tui") / "web" / "index.html").read_text(encoding="utf-8"))
STOP_GRACE = 3.0  # seconds an app gets to quit before its process group is killed


@dataclass(frozen=True)
class ServeOptions:
    """What to serve and where: ``app_argv`` runs one app (one per tab)."""

    app_argv: tuple[str, ...]
    title: str
    host: str = "127.0.0.1"
    port: int = 8000
    max_sessions: int = 4
    token: str = ""


def check_host(host: str, *, allow_remote: bool) -> str | None:
    """Why ``host`` is refused (None if fine): only loopback, unless asked for explicitly."""
    if allow_remote or host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return (
        f"--host {host} is not a loopback address: anyone who can reach it could connect; "
        "add --allow-remote to serve it anyway (the token is still required)"
    )


def kill_group(pgid: int) -> None:
    """Kill a whole process group (an app and whatever it started); gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _die_with(server: int) -> Callable[[], None]:
    """Run in the app's child before exec: on Linux, be killed if the server dies first."""

    def arm() -> None:
        if sys.platform == "linux":
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != server:  # the server died before the line above
            os._exit(1)

    return arm


class AppSession(AppService):
    """One tab's app: textual-serve's service, started in its own process group."""

    def __init__(
        self,
        argv: tuple[str, ...],
        *,
        write_bytes: Callable[[bytes], Awaitable[None]],
        write_str: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
        download_manager: DownloadManager,
    ) -> None:
        super().__init__(
            " ".join(argv),
            write_bytes=write_bytes,
            write_str=write_str,
            close=close,
            download_manager=download_manager,
        )
        self.argv = argv
        self.stopped = False

    async def _open_app_process(
        self, width: int = 80, height: int = 24
    ) -> asyncio.subprocess.Process:
        """Start the app (not through a shell) as the leader of a new session."""
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,
            preexec_fn=_die_with(os.getpid()),
        )
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        """The app's process id (also its process group id), once started."""
        return self._process.pid if self._process is not None else None

    async def stop(self) -> None:
        """Ask the app to quit, wait a little, then kill its whole process group."""
        process = self._process
        if process is None or self.stopped:
            return
        self.stopped = True
        try:
            await asyncio.wait_for(super().stop(), STOP_GRACE)
        except (TimeoutError, OSError, RuntimeError):
            pass
        finally:
            kill_group(process.pid)
            self._task = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), STOP_GRACE)


class Dashboard:
    """The aiohttp application: token check, the page, the websocket, the session limit."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.cookie = f"mlvc-token-{secrets.token_hex(4)}"
        self.sessions: dict[int, tuple[AppSession, web.WebSocketResponse]] = {}
        self.open = 0  # tabs holding a slot (their app starting, running or stopping)
        self.downloads = DownloadManager()

    def make_app(self) -> web.Application:
        """The routes, all behind the token."""
        app = web.Application(middlewares=[self.require_token])
        app.add_routes(
            [
                web.get("/", self.index),
                web.get("/ws/{token}", self.websocket),
                web.static("/static", STATIC),
            ]
        )
        app.on_shutdown.append(self.stop_all)
        return app

    def _has_token(self, request: web.Request) -> bool:
        given = (
            request.match_info.get("token")
            or request.query.get("token")
            or request.cookies.get(self.cookie)
            or ""
        )
        return secrets.compare_digest(given.encode(), self.options.token.encode())

    @web.middleware
    async def require_token(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Called for every request: 401 (and nothing started) without the token."""
        if not self._has_token(request):
            return web.Response(
                status=401, text="401: open the URL mlvc-tui --serve printed (it has the token)\n"
            )
        return await handler(request)

    @property
    def full(self) -> bool:
        """Whether every allowed tab is taken."""
        return self.open >= self.options.max_sessions

    async def index(self, request: web.Request) -> web.Response:
        """The page: the terminal, or a clear notice when every tab is taken."""
        if self.full:
            limit = self.options.max_sessions
            return web.Response(
                status=503,
                content_type="text/html",
                text=(
                    '<!DOCTYPE html><html><body style="background:#0c181f;color:#eee;'
                    'font:18px monospace;padding:3em"><h1>mlvc: every tab is taken</h1>'
                    f"<p>This server runs at most {limit} app{'s' if limit != 1 else ''} at once "
                    "(--max-sessions). Close another mlvc tab, then reload this page.</p>"
                    "</body></html>"
                ),
            )
        font_size = request.query.get("fontsize", "16")
        page = PAGE.substitute(
            title=html.escape(self.options.title),
            websocket_url=html.escape(f"ws://{request.host}/ws/{self.options.token}"),
            font_size=font_size if font_size.isdigit() else "16",
        )
        response = web.Response(text=page, content_type="text/html")
        response.set_cookie(self.cookie, self.options.token, httponly=True, samesite="Strict")
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """One tab: start its app, pipe keys in and screens out, kill it when the tab goes."""
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"http://{request.host}":
            return web.Response(status=403, text="403: wrong origin\n")
        if self.full:
            return web.Response(status=503, text="503: every tab is taken\n")
        width = _int(request.query.get("width"), 80)
        height = _int(request.query.get("height"), 24)
        socket = web.WebSocketResponse(heartbeat=15)
        self.open += 1
        session: AppSession | None = None
        try:
            await socket.prepare(request)

            async def close() -> None:  # aiohttp's close says whether it closed: unused
                await socket.close()

            session = AppSession(
                self.options.app_argv,
                write_bytes=socket.send_bytes,
                write_str=socket.send_str,
                close=close,
                download_manager=self.downloads,
            )
            await session.start(width, height)
            assert session.pid is not None
            self.sessions[session.pid] = (session, socket)
            await _relay(socket, session)
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            if session is not None:
                self.sessions.pop(session.pid or 0, None)
                await session.stop()
            self.open -= 1
        return socket

    async def stop_all(self, app: web.Application) -> None:
        """Called when the server stops: close every tab and kill every app's group."""
        sessions = list(self.sessions.values())
        await asyncio.gather(
            *(socket.close(code=WSCloseCode.GOING_AWAY) for _, socket in sessions),
            *(session.stop() for session, _ in sessions),
            return_exceptions=True,
        )


async def _relay(socket: web.WebSocketResponse, session: AppSession) -> None:
    """Pass the browser's keys, sizes and focus to the app until the tab closes."""
    async for message in socket:
        if message.type != WSMsgType.TEXT:
            continue
        envelope = message.json()
        if not isinstance(envelope, list) or not envelope:
            continue
        kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
        if kind == "stdin" and isinstance(data, str):
            await session.send_bytes(data.encode("utf-8"))
        elif kind == "resize" and isinstance(data, dict):
            width, height = _int(data.get("width"), 80), _int(data.get("height"), 24)
            await session.set_terminal_size(width, height)
        elif kind == "ping":
            await socket.send_json(["pong", data])
        elif kind == "blur":
            await session.blur()
        elif kind == "focus":
            await session.focus()


def _int(value: object, default: int) -> int:
    try:
        return max(1, min(int(str(value)), 1000))
    except ValueError:
        return default


def _url(host: str, port: int, token: str) -> str:
    try:
        if ipaddress.ip_address(host).is_unspecified:  # every address: name this machine
            host = socket.gethostname()
    except ValueError:
        pass
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


async def _serve(options: ServeOptions) -> int:
    dashboard = Dashboard(options)
    runner = web.AppRunner(dashboard.make_app(), handle_signals=False, shutdown_timeout=STOP_GRACE)
    await runner.setup()
    site = web.TCPSite(runner, options.host, options.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        reason = exc.strerror or str(exc)
        print(f"mlvc-tui: cannot serve on {options.host}:{options.port}: {reason}", file=sys.stderr)
        return 2
    port = runner.addresses[0][1]
    print(_url(options.host, port, options.token), flush=True)
    print(
        f"mlvc-tui: serving {options.title} (at most {options.max_sessions} tabs); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        await runner.cleanup()
    print("mlvc-tui: stopped", file=sys.stderr, flush=True)
    return 0


def serve(options: ServeOptions) -> int:
    """Serve until Ctrl-C (or SIGTERM); 2 if the port cannot be bound."""
    if not options.token:
        options = replace(options, token=secrets.token_urlsafe(32))
    return asyncio.run(_serve(options))
