"""Registry settings: `mlvc.toml` at the root of the prod branch, with defaults (DESIGN §4)."""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlvc_tui.engine.errors import BadInput

__all__ = [
    "ARTIFACT_KINDS",
    "PRIMARY_CANDIDATES",
    "RegistryConfig",
    "parse_config",
]

ARTIFACT_KINDS: tuple[str, ...] = ("models", "metrics", "logs", "monitoring", "data")
PRIMARY_CANDIDATES: tuple[str, ...] = ("accuracy", "f1", "auc", "r2", "loss", "rmse")
DEFAULT_ENVIRONMENTS: tuple[str, ...] = ("prod", "staging", "dev")
DEFAULT_ENVIRONMENT_PATHS: tuple[str, ...] = ("monitoring/",)
PROD_FALLBACKS: tuple[str, ...] = ("prod", "main", "master")
LOWER_IS_BETTER: tuple[str, ...] = (
    "loss",
    "error",
    "rmse",
    "mae",
    "mse",
    "latency",
    "mape",
    "perplexity",
    "logloss",
)


@dataclass(frozen=True, slots=True)
class RegistryConfig:
    """What `mlvc.toml` says, with every default filled in."""

    prod: str | None = None  # None: the first of PROD_FALLBACKS that exists
    environments: tuple[str, ...] = DEFAULT_ENVIRONMENTS
    model: str | None = None  # None: models/model.* or the only file under models/
    primary_metric: str | None = None
    directions: Mapping[str, str] = field(default_factory=dict)  # key -> "higher"|"lower"
    artifacts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> globs
    gates: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
    # paths an environment owns (its own live traffic): a promotion keeps the target's
    environment_paths: tuple[str, ...] = DEFAULT_ENVIRONMENT_PATHS
    problem: str | None = None  # why the file was set aside for these defaults (a warning)

    def owned_by_environment(self, path: str) -> bool:
        """Whether a promotion keeps the target's ``path`` (a folder ending in "/", a glob)."""
        return any(
            path.startswith(p) if p.endswith("/") else fnmatch.fnmatchcase(path, p)
            for p in self.environment_paths
        )

    def kind_of(self, path: str) -> str | None:
        """The artifact kind of a path, or None when it is not an artifact."""
        for kind, globs in self.artifacts.items():
            if any(fnmatch.fnmatchcase(path, g) for g in globs):
                return kind
        top = path.split("/", 1)[0]
        if "/" in path and top in ARTIFACT_KINDS:
            return top
        return None

    @property
    def artifact_roots(self) -> tuple[str, ...] | None:
        """Top-level folders that can hold artifacts, or None when any path can."""
        roots = set(ARTIFACT_KINDS)
        for globs in self.artifacts.values():
            for g in globs:
                top = g.split("/", 1)[0]
                if any(c in top for c in "*?[") or "/" not in g:
                    return None
                roots.add(top)
        return tuple(sorted(roots))

    def higher_is_better(self, key: str) -> bool:
        """The direction of a metric: configured (by full or last key), else by its name."""
        last = key.rsplit(".", 1)[-1]
        for name in (key, last):
            if name in self.directions:
                return self.directions[name] != "lower"
        lowered = key.lower()
        return not any(word in lowered for word in LOWER_IS_BETTER)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise BadInput(f"mlvc.toml: {where} must be a string or a list of strings")


def parse_config(data: bytes | None) -> RegistryConfig:
    """Parse `mlvc.toml` bytes (None: no file) into a RegistryConfig."""
    if data is None:
        return RegistryConfig()
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"mlvc.toml is not valid TOML: {exc}") from None
    except RecursionError:
        raise BadInput("mlvc.toml nests too deep") from None
    registry = doc.get("registry", {})
    metrics = doc.get("metrics", {})
    if not isinstance(registry, dict) or not isinstance(metrics, dict):
        raise BadInput("mlvc.toml: [registry] and [metrics] must be tables")
    directions = metrics.get("direction", {})
    if not isinstance(directions, dict) or any(
        v not in ("higher", "lower") for v in directions.values()
    ):
        raise BadInput('mlvc.toml: [metrics.direction] values must be "higher" or "lower"')
    artifacts = doc.get("artifacts", {})
    if not isinstance(artifacts, dict):
        raise BadInput("mlvc.toml: [artifacts] must be a table of kind = globs")
    prod = registry.get("prod")
    primary = metrics.get("primary")
    model = registry.get("model")
    for name, value in (
        ("registry.prod", prod),
        ("metrics.primary", primary),
        ("registry.model", model),
    ):
        if value is not None and not isinstance(value, str):
            raise BadInput(f"mlvc.toml: {name} must be a string")
    envs = registry.get("environments")
    owned = registry.get("environment_paths")
    return RegistryConfig(
        prod=prod,
        environments=_strings(envs, "registry.environments")
        if envs is not None
        else DEFAULT_ENVIRONMENTS,
        model=model,
        primary_metric=primary,
        directions=dict(directions),
        artifacts={k: _strings(v, f"artifacts.{k}") for k, v in artifacts.items()},
        gates=doc.get("gates", {}) if isinstance(doc.get("gates", {}), dict) else {},
        raw=doc,
        environment_paths=_strings(owned, "registry.environment_paths")
        if owned is not None
        else DEFAULT_ENVIRONMENT_PATHS,
    )
