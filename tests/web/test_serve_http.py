"""`mlvc-tui --serve` over plain HTTP: the token, the address and the port, no browser needed."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlvc_tui.engine.demo.build import build_demo
from tests.support.web import MLVC_TUI, Served, app_processes, http_status, serve


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo registry of this module's own."""
    return build_demo(tmp_path_factory.mktemp("serve-http") / "demo", seed=7)


@pytest.fixture(scope="module")
def served(registry: Path) -> Iterator[Served]:
    with serve(str(registry)) as running:
        yield running


def test_the_url_with_a_fresh_token_is_the_first_line(served: Served) -> None:
    token = served.url.split("?token=", 1)[1]
    assert len(token) >= 40
    assert http_status(served.url) == 200


@pytest.mark.parametrize(
    "path",
    ["/", "/?token=wrong", "/static/js/textual.js", "/static/", "/ws/wrong", "/download/x"],
)
def test_without_the_token_every_request_is_401_and_starts_nothing(
    served: Served, path: str
) -> None:
    assert http_status(served.base.rstrip("/") + path) == 401
    assert app_processes(served.process.pid) == []


def test_a_websocket_without_the_token_is_401_and_starts_no_app(served: Served) -> None:
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    assert http_status(served.base + "ws/not-the-token?width=80&height=24", upgrade) == 401
    assert http_status(served.base + "ws?width=80&height=24", upgrade) == 401
    assert app_processes(served.process.pid) == []


def test_the_page_loads_its_files_with_the_cookie_and_links_nothing_outside(
    served: Served,
) -> None:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(served.url) as response:
        page = response.read().decode()
    assert "http://" not in page.replace(f"ws://{served.base[7:]}", "")
    assert "https://" not in page
    with opener.open(served.base + "static/js/textual.js") as response:
        assert response.status == 200
    assert app_processes(served.process.pid) == []  # the page alone starts no app


def test_a_port_in_use_is_one_line_and_exit_2(registry: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(MLVC_TUI), "--serve", str(registry), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert f"127.0.0.1:{port}" in done.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_a_host_that_is_not_loopback_is_refused_without_allow_remote(
    registry: Path, host: str
) -> None:
    done = subprocess.run(
        [str(MLVC_TUI), "--serve", str(registry), "--host", host],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "--allow-remote" in done.stderr


def test_allow_remote_listens_everywhere_still_behind_the_token(registry: Path) -> None:
    with serve(str(registry), "--host", "0.0.0.0", "--allow-remote") as served:
        port = served.base.rsplit(":", 1)[1].strip("/")
        token = served.url.split("?token=", 1)[1]
        local = f"http://127.0.0.1:{port}/"
        assert http_status(local) == 401
        assert http_status(f"{local}?token={token}") == 200
        assert app_processes(served.process.pid) == []


@pytest.mark.parametrize(
    "args",
    [["/nonexistent/registry"], ["--max-sessions", "0"], ["--port", "70000"]],
    ids=["not-a-registry", "no-sessions", "bad-port"],
)
def test_bad_input_is_one_line_and_exit_2_before_listening(registry: Path, args: list[str]) -> None:
    argv = args if args[0].startswith("/") else [str(registry), *args]
    done = subprocess.run(
        [str(MLVC_TUI), "--serve", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("mlvc-tui: ")
