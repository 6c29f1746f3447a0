"""`mlvc clone`: a new clone that reads as the full registry, without a local branch.

The server is asked first (so a wrong URL or a failed login creates nothing); then the
folder is made, the remote ``origin`` configured, everything fetched, and the steps
registered in ``seam.AFTER_CLONE`` run. HEAD names the server's prod (or its default
branch) but no local branch is created: the registry reads prod as ``origin/prod``.
A failure after the folder was made removes it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.remotes import init_clone, set_remote
from mlvc_tui.engine.git.transport import list_refs
from mlvc_tui.engine.remote.seam import after_clone
from mlvc_tui.engine.remote.sync import FetchReport, Progress, fetch

__all__ = ["CloneReport", "clone", "default_path"]


@dataclass(frozen=True, slots=True)
class CloneReport:
    """Where the clone is and what its first fetch brought."""

    path: str
    url: str
    fetched: FetchReport


def default_path(url: str) -> str:
    """The folder `git clone` would pick: the URL's last part without `.git`."""
    tail = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail.removesuffix(".git") or "registry"


def clone(url: str, path: str | None = None, progress: Progress | None = None) -> CloneReport:
    """Clone ``url`` into ``path`` (default: named after the URL)."""
    from mlvc_tui.engine.registry import Registry

    target = Path(path or default_path(url))
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BadInput(f"{target} already exists and is not empty: name another folder")
    server = list_refs(url)
    heads = [r.removeprefix("refs/heads/") for r in server if r.startswith("refs/heads/")]
    if not heads:
        raise BadInput(f"{url}: the repository has no branches yet: nothing to clone")
    head = next((n for n in ("prod", "main", "master") if n in heads), sorted(heads)[0])
    made = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        repo = init_clone(str(target), head)
        set_remote(repo, "origin", url)
        reg = Registry(repo)
        try:
            report = fetch(reg, "origin", progress)
            after_clone(reg, url, progress or (lambda text: None))
        finally:
            reg.close()
    except BaseException:
        if made:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for child in target.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    return CloneReport(str(target.resolve()), url, report)
