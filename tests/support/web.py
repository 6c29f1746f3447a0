"""`mlvc-tui --serve` in tests: the real server as a process, Debian's chromium via Playwright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.gitrepo import git_env
from tests.support.terminal import Terminal

__all__ = [
    "CHROMIUM",
    "Served",
    "Tab",
    "app_processes",
    "browser",
    "gone",
    "http_status",
    "open_tab",
    "serve",
]

CHROMIUM = Path("/usr/bin/chromium")
MLVC_TUI = Path(sys.executable).parent / "mlvc-tui"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Served:
    """A running `mlvc-tui --serve`: its process and the URL with the token."""

    process: subprocess.Popen[str]
    url: str

    @property
    def base(self) -> str:
        """The URL without the token."""
        return self.url.split("?", 1)[0]

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a person would; returns the exit code and stderr."""
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(15)
        finally:
            _kill(self.process.pid)
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


def _kill(pgid: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@contextmanager
def serve(*args: str) -> Iterator[Served]:
    """Start `mlvc-tui --serve ARGS --port 0` in its own group; stopped (and killed) after."""
    env = {k: v for k, v in git_env().items() if "DATE" not in k}
    env["MLVC_WATCH"] = "off"
    process = subprocess.Popen(
        [str(MLVC_TUI), "--serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    served = Served(process, url)
    try:
        assert url.startswith("http://") and "?token=" in url, (url, process.stderr)
        yield served
    finally:
        if process.poll() is None:
            served.stop()
        # the apps it started are in groups of their own: never leave one behind
        for pid in app_processes(process.pid):
            _kill(pid)


def app_processes(server_pid: int) -> list[int]:
    """The live children of the server (each tab's app), read from the process table."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[1]) == server_pid:
            found.append(int(stat.parent.name))
    return found


def gone(pid: int, timeout: float = 10.0) -> bool:
    """Wait until ``pid`` no longer runs (zombies count as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def http_status(url: str, headers: dict[str, str] | None = None) -> int:
    """The status code of a GET (4xx and 5xx included)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@contextmanager
def browser(tmp: Path) -> Iterator[Any]:
    """Debian's chromium, headless, with a fresh profile (nothing downloaded)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=BROWSER_ARGS,
            viewport={"width": 1280, "height": 800},
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class Tab:
    """A page on the dashboard: every request it made, and the screen the app drew on it."""

    page: Any
    requests: list[str] = field(default_factory=list)
    frames: int = 0  # the terminal output frames received
    # what they show: wider and taller than the page's terminal, as the app only ever
    # moves the cursor, never wraps or scrolls
    screen: Terminal = field(default_factory=lambda: Terminal(400, 150))

    def received(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):  # terminal output (text frames are JSON metadata)
            self.screen.feed(frame)
            self.frames += 1

    def wait_for(self, needle: str, timeout: float = 20.0, since: int = 0) -> None:
        """Wait until ``needle`` is on screen, drawn by a frame after number ``since``."""
        deadline = time.monotonic() + timeout
        while self.frames <= since or needle not in self.screen.text():
            assert time.monotonic() < deadline, f"{needle!r} never appeared:\n" + self.screen.text()
            self.page.wait_for_timeout(50)

    def press(self, key: str, then: str, timeout: float = 20.0) -> None:
        """Press ``key`` and wait until the app draws ``then``."""
        mark = self.frames
        self.page.keyboard.press(key)
        self.wait_for(then, timeout, since=mark)


def open_tab(context: Any, url: str) -> Tab:
    """Open ``url`` in a new page, recording every request and websocket frame."""
    page = context.new_page()
    tab = Tab(page)
    page.on("request", lambda request: tab.requests.append(request.url))

    def on_websocket(socket: Any) -> None:
        tab.requests.append(socket.url)
        socket.on("framereceived", tab.received)

    page.on("websocket", on_websocket)
    page.goto(url)
    return tab
