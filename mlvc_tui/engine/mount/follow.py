"""``mlvc mount --follow``: watch the branch's ref as the app does, and switch the mount's
view to its new commit when it moves (open files keep the version they opened)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mlvc_tui.engine.errors import MlvcError
from mlvc_tui.engine.live.watch import Change, RegistryWatcher
from mlvc_tui.engine.mount.view import MountRef, TreeView, resolve_mount_ref

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["BranchFollower", "Switchable"]


class Switchable(Protocol):
    """A served file system whose view can be replaced (either backend)."""

    def switch(self, view: TreeView) -> None: ...


class BranchFollower:
    """Keeps ``tree`` showing the newest commit of ``target``'s branch."""

    def __init__(
        self,
        reg: Registry,
        lock: threading.Lock,
        tree: Switchable,
        target: MountRef,
        prefix: str,
    ) -> None:
        self.reg, self.lock, self.tree, self.target, self.prefix = reg, lock, tree, target, prefix
        self.commit = target.commit
        repo = reg.repo
        self._watcher = RegistryWatcher(
            reg.root,
            self._on_change,
            git_dir=Path(repo.controldir()),
            common_dir=Path(repo.commondir()),
            bare=True,  # refs only: the working tree does not matter to a mount
        )

    def start(self) -> None:
        self._watcher.start()

    def stop(self) -> None:
        self._watcher.stop()

    def _on_change(self, change: Change) -> None:
        """Called from the watcher's thread when refs changed: switch if the branch moved."""
        try:
            with self.lock:
                self.reg.refresh()
                commit = resolve_mount_ref(self.reg, self.target.text).commit
            if commit == self.commit:
                return
            view = TreeView(self.reg, self.lock, commit, self.prefix, self.target.branch)
        except MlvcError as exc:  # the branch went away, or the folder did: keep showing
            print(f"mlvc mount: still showing {self.commit[:12]}: {exc}", file=sys.stderr)
            return
        self.commit = commit
        self.tree.switch(view)
        print(f"mlvc mount: {self.target.text} moved to {commit[:12]}", file=sys.stderr)
