"""Git LFS in clone, fetch and push: a push uploads every LFS object its new commits
reference before any ref moves (a step in ``seam.BEFORE_REF_UPDATE``); clone and fetch
bring no LFS object: a read downloads the one it needs (``git.files.open_lfs``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from mlvc_tui.engine.git.lfs_push import remote_named, upload_to_url
from mlvc_tui.engine.git.refs import read_refs
from mlvc_tui.engine.git.transport import ZERO
from mlvc_tui.engine.remote.seam import BEFORE_REF_UPDATE, Progress

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["upload_lfs_objects"]


def upload_lfs_objects(
    reg: Registry, url: str, updates: Mapping[str, tuple[str, str]], progress: Progress
) -> None:
    """Upload the LFS objects of the commits ``updates`` sends; raise (nothing pushed) when
    one cannot be uploaded."""
    new = [n for _, n in updates.values() if n != ZERO]
    have = [o for o, _ in updates.values() if o != ZERO]
    name = remote_named(reg, url)  # what this server is known to have: its tracking refs
    if name:
        mine = f"refs/remotes/{name}/"
        have += [sha for ref, sha in read_refs(reg.repo).items() if ref.startswith(mine)]
    shown = {"oid": ""}

    def bar(oid: str, done: int, total: int) -> None:
        if oid != shown["oid"]:
            shown["oid"] = oid
        pct = 100 * done // max(total, 1)
        progress(f"LFS: uploading {oid[:12]} {pct}% ({done >> 20}/{total >> 20} MB)\r")

    referenced, sent = upload_to_url(reg, url, new, have, bar)
    if referenced:
        progress(f"LFS: {sent} of {referenced} object(s) uploaded, the rest already there\n")


if upload_lfs_objects not in BEFORE_REF_UPDATE:
    BEFORE_REF_UPDATE.append(upload_lfs_objects)
