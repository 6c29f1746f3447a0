"""Metrics files (JSON, YAML, CSV under `metrics/`) into flat dotted keys, and their diffs."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from mlvc_tui.engine.bounded import check_size, load_json, load_yaml
from mlvc_tui.engine.config import PRIMARY_CANDIDATES, RegistryConfig
from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.values import MetricDelta, Metrics, Verdict

__all__ = [
    "METRIC_SUFFIXES",
    "compare",
    "diff_metrics",
    "key_prefix",
    "merge_files",
    "merge_parsed",
    "parse_metrics_file",
    "primary_metric",
]

METRIC_SUFFIXES = (".json", ".yaml", ".yml", ".csv")
_KEY_COLUMNS = ("metric", "name", "key")
_STEP_COLUMNS = frozenset({"step", "epoch", "iteration", "iter", "timestamp", "time", "date"})


def _flatten(node: Any, prefix: str, out: dict[str, float]) -> None:
    if isinstance(node, bool):
        return
    if isinstance(node, int | float):
        out[prefix] = float(node)
    elif isinstance(node, Mapping):
        for k, v in node.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _flatten(v, f"{prefix}.{i}" if prefix else str(i), out)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _parse_csv(text: str) -> dict[str, float]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return {}
    header = [h.strip() for h in rows[0]]
    lowered = [h.lower() for h in header]
    body = [r for r in rows[1:] if any(cell.strip() for cell in r)]
    key_col = next((lowered.index(c) for c in _KEY_COLUMNS if c in lowered), None)
    if key_col is not None and "value" in lowered:  # key/value form
        value_col = lowered.index("value")
        out: dict[str, float] = {}
        for row in body:
            if len(row) > max(key_col, value_col):
                value = _number(row[value_col])
                if value is not None:
                    out[row[key_col].strip()] = value
        return out
    if not body:  # per-step form: the last row's numeric columns
        return {}
    last = body[-1]
    return {
        name: value
        for name, low, cell in zip(header, lowered, last, strict=False)
        if low not in _STEP_COLUMNS and (value := _number(cell)) is not None
    }


def parse_metrics_file(path: str, data: bytes) -> dict[str, float]:
    """Parse one metrics file into flat ``{dotted.key: value}``; BadInput when unreadable."""
    check_size(path, len(data))
    if b"\x00" in data[:8192]:
        raise BadInput(f"{path} is binary, not a metrics file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text") from None
    out: dict[str, float] = {}
    lower = path.lower()
    try:
        if lower.endswith(".json"):
            _flatten(load_json(path, text), "", out)
        elif lower.endswith((".yaml", ".yml")):
            _flatten(load_yaml(path, text), "", out)
        elif lower.endswith(".csv"):
            out = _parse_csv(text)
    except BadInput:
        raise
    except (ValueError, csv.Error) as exc:
        raise BadInput(f"{path} is not valid: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # yaml.YAMLError and friends
        raise BadInput(f"{path} is not valid: {str(exc).splitlines()[0]}") from None
    return out


@lru_cache(maxsize=1 << 16)
def _stem(path: str) -> str:
    rel = path.split("/", 1)[1] if path.startswith("metrics/") else path
    return rel.rsplit(".", 1)[0]


def key_prefix(path: str) -> str:
    """What the keys of a file that is not the main one start with (its stem, dotted:
    metrics/train_history.csv -> ``train_history.``)."""
    return _stem(path).replace("/", ".") + "."


def merge_files(files: Iterable[tuple[str, bytes]], model_stem: str | None) -> Metrics:
    """Merge every metrics file of a commit into one Metrics (errors kept per file).

    The main file's keys are bare: metrics/<model>.*, metrics/model.* or metrics/metrics.*,
    else the first JSON or YAML file. Other files' keys start with their stem
    (metrics/train_history.csv -> ``train_history.loss``).
    """
    parsed: list[tuple[str, Mapping[str, float] | str, Mapping[str, float] | None]] = []
    for path, data in files:
        try:
            parsed.append((path, parse_metrics_file(path, data), None))
        except BadInput as exc:
            parsed.append((path, str(exc), None))
    return merge_parsed(parsed, model_stem)


def merge_parsed(
    files: Iterable[tuple[str, Mapping[str, float] | str, Mapping[str, float] | None]],
    model_stem: str | None,
) -> Metrics:
    """`merge_files` over files already parsed: (path, values or the reason it is bad, the
    values with `key_prefix` already applied or None). Callers that parse each blob once
    (`MetricBlobs`) pass the prefixed values they keep, so a merge only copies."""
    files = sorted(files, key=lambda f: f[0])
    mains = {"metrics", "model", model_stem or "model"}
    main = next((p for p, _, _ in files if _stem(p) in mains), None) or next(
        (p for p, _, _ in files if p.lower().endswith((".json", ".yaml", ".yml"))), None
    )
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    for path, parsed, prefixed in files:
        if isinstance(parsed, str):
            errors[path] = parsed
        elif path == main or _stem(path) in mains:
            values.update(parsed)
        elif prefixed is not None:
            values.update(prefixed)
        else:
            prefix = key_prefix(path)
            values.update({prefix + k: v for k, v in parsed.items()})
    return Metrics(values=values, errors=errors)


def primary_metric(config: RegistryConfig, keys: Iterable[str]) -> str | None:
    """The configured primary metric, else the first well-known one, else the first key."""
    keys = list(keys)
    if config.primary_metric:
        return config.primary_metric
    for candidate in PRIMARY_CANDIDATES:
        if candidate in keys:
            return candidate
    return keys[0] if keys else None


def compare(key: str, a: float | None, b: float | None, higher_is_better: bool) -> MetricDelta:
    """Side b against side a for one metric."""
    if a is None or b is None:
        verdict = Verdict.NEW if a is None else Verdict.MISSING
        return MetricDelta(key, a, b, None, None, higher_is_better, verdict)
    if not (math.isfinite(a) and math.isfinite(b)):
        return MetricDelta(key, a, b, None, None, higher_is_better, Verdict.INVALID)
    delta = b - a
    relative = delta / abs(a) if a != 0 else None
    if delta == 0:
        verdict = Verdict.SAME
    else:
        verdict = Verdict.BETTER if (delta > 0) == higher_is_better else Verdict.WORSE
    return MetricDelta(key, a, b, delta, relative, higher_is_better, verdict)


def diff_metrics(a: Metrics, b: Metrics, config: RegistryConfig) -> tuple[MetricDelta, ...]:
    """Every key of either side, a's order first, then b's new keys."""
    keys = list(a.values) + [k for k in b.values if k not in a.values]
    return tuple(
        compare(k, a.values.get(k), b.values.get(k), config.higher_is_better(k)) for k in keys
    )
