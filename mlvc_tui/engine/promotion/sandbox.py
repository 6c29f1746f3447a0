"""The check gate's sandbox (bubblewrap) and which files the check executes.

The check command comes from the target's settings, but the files it runs come from the
candidate, so whoever pushed the candidate chooses the code. It runs under ``bwrap``
(Debian's ``bubblewrap``, the sandbox Flatpak uses; unprivileged, no daemon, no setuid
needed with user namespaces): the whole system read-only, the user's home hidden (only the
Python that runs mlvc shows through, read-only), a private /tmp, write access to the check's
temporary tree alone, no network (``--unshare-net``), its own process and IPC namespaces,
killed with mlvc, and a minimal environment. ``MLVC_BWRAP`` names another binary, or none
(empty) to say no sandbox is available.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

__all__ = ["bwrap", "check_code_changes", "sandbox_argv", "sandbox_env"]

CODE_FOLDERS = ("src/",)  # code the check may import besides the files its command names


@functools.cache
def _works(binary: str) -> bool:
    try:
        done = subprocess.run(
            [binary, "--ro-bind", "/", "/", "--unshare-net", "--", "/bin/true"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def bwrap() -> str | None:
    """The bubblewrap binary when it is installed and can make a sandbox here, else None."""
    named = os.environ.get("MLVC_BWRAP")
    binary = shutil.which("bwrap") if named is None else (shutil.which(named) if named else None)
    return binary if binary and _works(binary) else None


def sandbox_env(workdir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """A minimal environment: PATH (this Python first), HOME and TMPDIR in the tree, locale."""
    bindir = os.path.dirname(sys.executable)
    return {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra,
    }


def sandbox_argv(binary: str, workdir: Path, command: str, env: Mapping[str, str]) -> list[str]:
    """The bwrap command line that runs ``command`` through /bin/sh in ``workdir``."""
    argv = [binary, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    hidden = ["/tmp"]  # a private /tmp
    home = os.environ.get("HOME", "")
    if home not in ("", "/") and Path(home).is_dir():
        hidden.append(os.path.realpath(home))  # keys, tokens and other projects out of sight
    for folder in sorted(set(hidden)):
        argv += ["--tmpfs", folder]
    # The Python that runs mlvc (a virtualenv, its base) and mlvc itself show through,
    # read-only, wherever they live: the check runs `python` and may unpickle with them.
    for keep in sorted(_python_folders()):
        if any(keep == h or keep.startswith(h.rstrip("/") + "/") for h in hidden):
            argv += ["--ro-bind", keep, keep]
    argv += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    argv += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    argv += ["--die-with-parent", "--new-session", "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return [*argv, "--", "/bin/sh", "-c", command]


def _python_folders() -> set[str]:
    """This interpreter's prefixes and the folder mlvc is imported from, resolved."""
    package_root = Path(__file__).resolve().parents[3]  # .../mlvc_tui/engine/promotion/
    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(package_root)}
    return {os.path.realpath(folder) for folder in found}


_Entry = TypeVar("_Entry")  # a tree entry of the caller's kind (read gives its bytes)


def _named_files(command: str, files: Mapping[str, object]) -> set[str]:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    named = set()
    for word in words:
        clean = word.removeprefix("./").strip("/")
        if clean in files:
            named.add(clean)
        elif clean:
            named.update(p for p in files if p.startswith(clean + "/"))
    return named


_IMPORT = re.compile(rb"^\s*(?:from|import)\s+([A-Za-z_][\w.]*)", re.M)


def _imported(
    scripts: set[str], tree: Mapping[str, _Entry], read: Callable[[_Entry], bytes] | None
) -> set[str]:
    """Python modules beside the named scripts that they import (one level, by name)."""
    found: set[str] = set()
    if read is None:
        return found
    for script in scripts:
        entry = tree.get(script)
        if not script.endswith(".py") or entry is None:
            continue
        folder = script.rpartition("/")[0]
        for name in _IMPORT.findall(read(entry)[:200_000]):
            parts = name.decode().split(".")
            for candidate in (
                "/".join(filter(None, [folder, *parts])) + ".py",
                "/".join(filter(None, [folder, *parts, "__init__.py"])),
                "/".join(filter(None, [folder, parts[0]])) + ".py",
            ):
                if candidate in tree:
                    found.add(candidate)
    return found


def check_code_changes(
    command: str,
    files: Mapping[str, _Entry],
    target: Mapping[str, _Entry],
    read: Callable[[_Entry], bytes] | None = None,
) -> tuple[str, ...]:
    """Paths the check executes whose content in ``files`` (the merge result) differs from
    the target's: the files its command names and (with ``read``, which gives an entry's
    bytes) the modules beside them that those scripts import; without ``read``, everything
    under src/."""
    named = _named_files(command, files) | _named_files(command, target)
    code = set(named)
    if read is None:
        code |= {p for p in files.keys() | target.keys() if p.startswith(CODE_FOLDERS)}
    else:
        code |= _imported(named, files, read) | _imported(named, target, read)
    return tuple(sorted(p for p in code if files.get(p) != target.get(p)))
