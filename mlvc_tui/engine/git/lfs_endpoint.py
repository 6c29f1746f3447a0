"""Where a repository's LFS server is, found the way git-lfs finds it.

In order: ``remote.<name>.lfsurl`` then ``lfs.url`` in git's config; the same keys in a
committed ``.lfsconfig`` (the working tree's, else the one on the ref being read); else
derived from the remote's URL: ``<url>/info/lfs`` when it ends in ``.git``, else
``<url>.git/info/lfs``; an ssh remote (``git@host:org/repo``) maps to ``https://host/...``.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from dulwich.config import ConfigFile, StackedConfig

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.lfs_transfer import LfsClient

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["client_for", "derive_lfs_url", "lfs_url", "remote_of_ref"]

_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$")


def derive_lfs_url(remote_url: str) -> str | None:
    """The LFS endpoint git-lfs derives from a remote URL; None for local paths."""
    url = remote_url.strip().rstrip("/")
    if url.startswith(("http://", "https://")):
        pass
    elif url.startswith("ssh://"):
        rest = url[len("ssh://") :].split("@", 1)[-1]
        host, _, path = rest.partition("/")
        url = f"https://{host.split(':', 1)[0]}/{path}"
    elif url.startswith("git://"):
        url = "https://" + url[len("git://") :]
    elif (m := _SCP.match(url)) and not os.path.exists(url):
        url = f"https://{m.group(1)}/{m.group(2).lstrip('/')}"
    else:
        return None
    return f"{url}/info/lfs" if url.endswith(".git") else f"{url}.git/info/lfs"


def _get(config: ConfigFile | StackedConfig, section: tuple[bytes, ...], key: bytes) -> str | None:
    try:
        value = config.get(section, key)
    except KeyError:
        return None
    return value.decode() if value else None


def _lfsconfig(reg: Registry, ref: str | None) -> ConfigFile | None:
    """The committed ``.lfsconfig``: the working tree's, else the one on ``ref`` (or HEAD)."""
    if not reg.repo.bare:
        local = Path(reg.repo.path) / ".lfsconfig"
        if local.is_file():
            return ConfigFile.from_path(str(local))
    try:
        tree = reg.tree_of(ref or "HEAD")
        hit = reg.objects.lookup(tree, ".lfsconfig")
    except BadInput:
        return None
    if hit is None:
        return None
    return ConfigFile.from_file(io.BytesIO(reg.objects.blob(hit[1])))


def remote_of_ref(reg: Registry, ref: str | None) -> str:
    """The remote a ref reads from: ``origin/prod`` → origin; a branch's upstream; origin."""
    config = reg.repo.get_config_stack()
    if ref:
        name = ref.removeprefix("refs/remotes/")
        head = name.split("/", 1)[0]
        if "/" in name and _get(config, (b"remote", head.encode()), b"url"):
            return head
        upstream = _get(config, (b"branch", ref.removeprefix("refs/heads/").encode()), b"remote")
        if upstream and upstream != ".":
            return upstream
    return _get(config, (b"lfs",), b"remote.default") or "origin"


def lfs_url(reg: Registry, remote: str | None = None, ref: str | None = None) -> str | None:
    """The LFS endpoint for ``remote`` (default: the remote of ``ref``), or None."""
    name = (remote or remote_of_ref(reg, ref)).encode()
    config = reg.repo.get_config_stack()
    for source in (config, _lfsconfig(reg, ref)):
        if source is None:
            continue
        found = _get(source, (b"remote", name), b"lfsurl") or _get(source, (b"lfs",), b"url")
        if found:
            return found
    remote_url = _get(config, (b"remote", name), b"url")
    return derive_lfs_url(remote_url) if remote_url else None


def client_for(
    reg: Registry, remote: str | None = None, ref: str | None = None, token: str | None = None
) -> LfsClient:
    """An LFS client for the repository's server; BadInput when none can be found.

    A token comes from ``token`` or ``$MLVC_LFS_TOKEN``; basic credentials from the URL.
    """
    url = lfs_url(reg, remote, ref)
    if url is None:
        raise BadInput(
            f"no LFS server known for remote {remote or remote_of_ref(reg, ref)!r}: "
            "set lfs.url (git config or .lfsconfig) or add an http(s) remote"
        )
    return LfsClient(url, token=token or os.environ.get("MLVC_LFS_TOKEN") or None)
