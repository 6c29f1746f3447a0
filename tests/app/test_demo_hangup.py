"""`mlvc-tui --demo` in a real pseudo-terminal: a hang-up (SSH drop) leaves no demo in /tmp."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

MLVC_TUI = str(Path(sys.executable).with_name("mlvc-tui"))


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    end = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def test_sighup_removes_the_demo_registry(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "TMPDIR": str(tmp_path), "TERM": "xterm-256color", "MLVC_WATCH": "off"}
    proc = subprocess.Popen(
        [MLVC_TUI, "--demo"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        shown = _read_until(master, b"demo (seed 7)", timeout=60)
        assert b"demo (seed 7)" in shown, shown[-500:]
        assert [p.name[:10] for p in tmp_path.iterdir()] == ["mlvc-demo-"]
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=20) == 128 + signal.SIGHUP
        assert list(tmp_path.iterdir()) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
