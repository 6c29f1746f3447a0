"""The check gate: run a command in a temporary copy of the files about to be promoted.

The files are written from the object store into a fresh temporary folder (Git LFS files
from the local LFS store when present), the command runs there through the shell with a
timeout, and every output line goes to a callback as it arrives. Exit 0 passes. The
interpreter running mlvc comes first on PATH, so ``python`` means that interpreter. The
command runs in a bubblewrap sandbox (see :mod:`mlvc_tui.engine.promotion.sandbox`), and
code the candidate changed runs only when the user says so.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mlvc_tui.engine.git.objects import GITLINK, _parse_lfs_pointer
from mlvc_tui.engine.git.paths import safe_target
from mlvc_tui.engine.promotion.records import GateResult
from mlvc_tui.engine.promotion.sandbox import bwrap, sandbox_argv, sandbox_env

if TYPE_CHECKING:
    from mlvc_tui.engine.git.merge import MergeResult
    from mlvc_tui.engine.registry import Registry

__all__ = ["OutputSink", "consent_refusal", "run_check"]

OutputSink = Callable[[str], None]
_TAIL = 20


def _materialise(reg: Registry, merge: MergeResult, root: Path) -> None:
    lfs_dir = Path(reg.repo.controldir()) / "lfs" / "objects"
    for path, (mode, sha) in merge.files.items():
        if mode == GITLINK:
            continue
        target = safe_target(root, path, mode)
        data = merge.blob(reg, sha)
        pointer = _parse_lfs_pointer(data) if len(data) < 1024 else None
        local = lfs_dir / pointer[0][:2] / pointer[0][2:4] / pointer[0] if pointer else None
        if local is not None and local.is_file():
            shutil.copyfile(local, target)
        elif mode == 0o120000:
            target.symlink_to(data.decode("utf-8", "surrogateescape"))
        else:
            target.write_bytes(data)
            if mode & 0o111:
                target.chmod(0o755)


def _changed(paths: tuple[str, ...]) -> str:
    more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
    return f"the candidate changes {paths[0]}{more}, which the check executes"


def consent_refusal(changed: tuple[str, ...], sandbox: str | None) -> str | None:
    """Why the check may not run the candidate's changed code now, or None when it may."""
    if not changed:
        return None
    if sandbox is None:
        return (
            f"not run: {_changed(changed)}, and no sandbox is available to run it in "
            "(install bubblewrap: Debian package bubblewrap)"
        )
    return f"not run: {_changed(changed)}; run it (sandboxed) with --run-check or the r key"


def run_check(
    reg: Registry,
    merge: MergeResult,
    command: str,
    timeout: float,
    on_output: OutputSink | None = None,
    env: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
    changed: tuple[str, ...] = (),
    run_changed: bool = False,
) -> GateResult:
    """Run ``command`` on the merge result's files; the check gate's result.

    It runs in a bubblewrap sandbox when one is available. ``changed`` lists the files the
    check executes that the candidate changes: then it runs only with ``run_changed`` and
    a sandbox. Setting ``cancel`` kills the command (the gate then fails: "cancelled").
    """
    emit = on_output or (lambda line: None)
    tail: list[str] = []
    binary = bwrap()
    if changed and (not run_changed or binary is None):
        return GateResult("check", False, consent_refusal(changed, binary) or "")
    with tempfile.TemporaryDirectory(prefix="mlvc-check-") as tmp:
        _materialise(reg, merge, Path(tmp))
        argv: str | list[str]
        if binary is not None:
            full_env = sandbox_env(Path(tmp), env or {})
            argv = sandbox_argv(binary, Path(tmp), command, full_env)
            emit(f"$ {command}")
        else:
            full_env = {**os.environ, **(env or {})}
            bindir = os.path.dirname(sys.executable)
            full_env["PATH"] = bindir + os.pathsep + full_env.get("PATH", "")
            argv = command
            emit(f"$ {command}")
        try:
            proc = subprocess.Popen(
                argv,
                shell=binary is None,
                cwd=tmp,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return GateResult("check", False, f"{command!r} could not start: {exc}")

        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                tail.append(line)
                del tail[:-_TAIL]
                emit(line)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            code = _wait(proc, timeout, cancel)
        except BaseException:
            _kill(proc)
            raise
        if code is None:
            _kill(proc)
            reader.join(5)
            why = (
                "cancelled"
                if cancel is not None and cancel.is_set()
                else f"timed out after {timeout:g} s"
            )
            return GateResult("check", False, f"{command!r} {why}")
        reader.join()
    last = next((line.strip() for line in reversed(tail) if line.strip()), "")
    said = f": {last[:120]}" if last else ""
    if code == 0:
        return GateResult("check", True, f"{command!r} passed{said}")
    return GateResult("check", False, f"{command!r} exited {code}{said}")


def _wait(
    proc: subprocess.Popen[bytes], timeout: float, cancel: threading.Event | None
) -> int | None:
    """The exit code, or None at the timeout or when cancelled."""
    deadline = time.monotonic() + timeout
    while True:
        step = min(0.05, max(deadline - time.monotonic(), 0))
        try:
            return proc.wait(timeout=step)
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline or (cancel is not None and cancel.is_set()):
                return None


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
