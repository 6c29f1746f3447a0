"""Which branch is prod and whose `mlvc.toml` counts, and which remote is the registry's.

Only prod's settings are read: anyone can push a branch, and its settings must not choose
prod, gates or metric directions for everyone. These functions read a `Registry`'s refs.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlvc_tui.engine.config import PROD_FALLBACKS, RegistryConfig, parse_config
from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.refs import raw_ref
from mlvc_tui.engine.git.remotes import local_setting, upstream_remote
from mlvc_tui.engine.registry.names import HEADS, REMOTES
from mlvc_tui.engine.registry.revisions import commit_of

if TYPE_CHECKING:
    from mlvc_tui.engine.registry.refs import RegistryRefs

__all__ = ["config_at", "pick_remote", "read_config"]

_CONFIGS_KEPT = 4096  # mlvc.toml files kept parsed, by commit id


def pick_remote(reg: RegistryRefs, config: RegistryConfig | None) -> str:
    """The registry's remote: `[remote] name` in mlvc.toml, else prod's upstream, or origin."""
    table = (config.raw.get("remote") if config else None) or {}
    if isinstance(table, dict) and isinstance(table.get("name"), str):
        return str(table["name"])
    for name in (config.prod,) if config and config.prod else PROD_FALLBACKS:
        if HEADS + name in reg._disk_refs:
            return upstream_remote(reg.repo, name) or "origin"
    return "origin"


def read_config(reg: RegistryRefs) -> RegistryConfig:
    """mlvc.toml of prod and of no other branch.

    Prod is the branch named on the command line, else by ``mlvc.prod`` in this
    repository's own git config (`mlvc init --prod` sets it), else the first of prod,
    main and master that exists, else the branch the server's HEAD names (a bare
    repository's HEAD, a remote's HEAD). When that one's settings name another prod
    branch, the settings come from there (when it has them).
    """
    if reg.prod_override:
        named = config_at(reg, HEADS + reg.prod_override)
        return replace(named or RegistryConfig(), prod=reg.prod_override)
    ref = next((r for r in _trusted_prod_refs(reg) if r in reg._refs), None)
    if ref is not None and ref.removeprefix(HEADS) not in PROD_FALLBACKS:
        config = config_at(reg, ref)
        return replace(config or RegistryConfig(), prod=ref.removeprefix(HEADS))
    config = config_at(reg, ref) if ref else None
    if config is None:
        return RegistryConfig()
    if config.prod and HEADS + config.prod != ref:
        named = config_at(reg, HEADS + config.prod)
        return replace(named, prod=config.prod) if named is not None else config
    return config


def _trusted_prod_refs(reg: RegistryRefs) -> list[str]:
    """Where prod may be named by someone other than whoever pushes branches."""
    names: list[str] = []
    local = local_setting(reg.repo, "mlvc", "prod")
    if local is not None:
        names.append(HEADS + local)
    names += [HEADS + n for n in PROD_FALLBACKS]
    heads = ["HEAD"] if reg.bare else []
    common = Path(reg.repo.commondir())
    remote_head = f"{REMOTES}{reg.remote}/HEAD"
    # a symbolic ref is a loose file (or reftable): skip parsing packed-refs for nothing
    if (common / remote_head).is_file() or (common / "reftable").exists():
        heads.append(remote_head)
    for symref in heads:
        with contextlib.suppress(Exception):
            target = raw_ref(reg.repo, symref) or ""
            if target.startswith("ref: "):
                name = target[5:].strip()
                prefix = f"{REMOTES}{reg.remote}/"
                names.append(HEADS + name.removeprefix(prefix).removeprefix(HEADS))
    return names


def config_at(reg: RegistryRefs, ref: str) -> RegistryConfig | None:
    """The settings in the mlvc.toml of ``ref`` (None without one; cached by commit id)."""
    sha = reg._refs.get(ref)
    if sha is None:
        return None
    if sha in reg._configs:
        return reg._configs[sha]
    info = commit_of(reg, sha)
    hit = reg.objects.lookup(reg.objects.commit(info.id)[1], "mlvc.toml") if info else None
    try:
        config = parse_config(reg.objects.blob(hit[1])) if hit else None
    except BadInput as exc:  # said as a warning; reading goes on with the defaults
        why = str(exc).removeprefix("mlvc.toml").lstrip(": ").removeprefix("is ")
        config = RegistryConfig(
            problem=f"mlvc.toml on {ref.removeprefix(HEADS)} is set aside, "
            f"the defaults are in use: {why}"
        )
    if len(reg._configs) > _CONFIGS_KEPT:
        reg._configs.clear()
    reg._configs[sha] = config
    return config
