"""Every parser of repository files, fuzzed: only mlvc's own errors may come out (issue 11).

Deterministic (``derandomize``) so CI is stable; 11,000 cases in all. Each parser gets raw
bytes and text shaped like its format (valid documents, cut short or spliced with junk).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlvc_tui.engine.config import parse_config
from mlvc_tui.engine.delivery.results import parse_results
from mlvc_tui.engine.delivery.spec import parse as parse_delivery
from mlvc_tui.engine.errors import MlvcError
from mlvc_tui.engine.git.lfs import parse_pointer
from mlvc_tui.engine.live.drift import parse_drift
from mlvc_tui.engine.metrics import parse_metrics_file
from mlvc_tui.engine.promotion.approvals import _parse as parse_approvals
from mlvc_tui.engine.promotion.records import _PREFIX, parse_record

CASES = {  # parser -> examples
    "json": 1500,
    "yaml": 1500,
    "csv": 1100,
    "drift": 1100,
    "mlvc.toml": 1100,
    "delivery.toml": 1100,
    "lineage": 900,
    "record": 700,
    "approvals": 400,
    "lfs": 700,
    "results": 900,
}
assert sum(CASES.values()) >= 10_000


def fuzz(name: str) -> Any:
    return settings(
        max_examples=CASES[name],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


SEED_DOCS: list[Any] = [
    {"accuracy": 0.9, "slices": {"eu": {"accuracy": 0.8}}, "loss": [0.5, 0.4]},
    {"a": {"b": {"c": [1, 2.5, None, True, "x"]}}, "": -1e308, "n": 10**30},
    [1, 2, {"k": "v"}],
    {"f1": float("nan"), "auc": float("inf"), "name": "\u00fc [bold]x[/bold]"},
    "just a string",
    None,
]
junk = st.sampled_from(
    ["", "\r", "\n", "\x00", "\ufeff", "&a ", "*a", "[", "{", '"', ",", "=", "#", "\\", "\x1b[31m"]
)


def shaped(render: Callable[[Any], str]) -> st.SearchStrategy[bytes]:
    """Valid documents rendered, then cut, spliced with junk or bytes; or raw bytes."""
    seeds = [render(doc) for doc in SEED_DOCS]

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        text = draw(st.sampled_from(seeds))
        for _ in range(draw(st.integers(0, 3))):
            at = draw(st.integers(0, len(text)))
            cut = draw(st.integers(0, 4))
            text = text[:at] + draw(junk) + text[at + cut :]
        data = text.encode("utf-8", "surrogatepass")
        if draw(st.booleans()):
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
        return data

    return st.one_of(build(), st.binary(max_size=200))


def _yaml(doc: Any) -> str:
    import yaml

    return yaml.safe_dump(doc, allow_unicode=True)


def _toml(doc: Any) -> str:
    lines = ['[registry]\nprod = "prod"\nmodel = "models/model.pkl"', "[gates]\napprovals = 1"]
    lines.append('mode = "ab"\ntest = "t"\n[tests.t]\nbranches = ["a", "b"]\nsplit = [50, 50]')
    if isinstance(doc, dict):
        for k, v in doc.items():
            lines.append(f"[{k or 'x'}]" if isinstance(v, dict) else f'"{k}" = {json.dumps(v)}')
    return "\n".join(lines)


def _csv(doc: Any) -> str:
    rows = doc if isinstance(doc, list) else [doc, "2026-01-01T00:00:00,u1,a,1,12.5,0"]
    return "\n".join(",".join(str(c) for c in (r if isinstance(r, list) else [r])) for r in rows)


def _ours(call: Callable[[], object]) -> None:
    with contextlib.suppress(MlvcError):
        call()


@fuzz("json")
@given(shaped(lambda d: json.dumps(d, allow_nan=True)))
def test_metrics_json(data: bytes) -> None:
    _ours(lambda: parse_metrics_file("metrics/model.json", data))


@fuzz("yaml")
@given(shaped(_yaml))
def test_metrics_yaml(data: bytes) -> None:
    _ours(lambda: parse_metrics_file("metrics/model.yaml", data))


@fuzz("csv")
@given(shaped(lambda d: "metric,value\n" + _csv(d)))
def test_metrics_csv(data: bytes) -> None:
    _ours(lambda: parse_metrics_file("metrics/history.csv", data))


@fuzz("drift")
@given(shaped(lambda d: "timestamp,feature,metric,value,threshold\n" + _csv(d)))
def test_drift_logs(data: bytes) -> None:
    _ours(lambda: parse_drift(data, {"psi": 0.2}))


@fuzz("mlvc.toml")
@given(shaped(_toml))
def test_mlvc_toml(data: bytes) -> None:
    _ours(lambda: parse_config(data))


@fuzz("delivery.toml")
@given(shaped(_toml))
def test_delivery_toml(data: bytes) -> None:
    _ours(lambda: parse_delivery(data, "0" * 40))


@fuzz("lineage")
@given(shaped(lambda d: json.dumps({"sha256": "ab", "format": "pickle", "params": d})))
def test_lineage_records(data: bytes) -> None:
    from mlvc_tui.engine.bounded import load_json

    _ours(lambda: load_json("models/model.lineage.json", data))


@fuzz("record")
@given(shaped(lambda d: "Promote x\n\n" + _PREFIX + json.dumps(d)))
def test_promotion_records(data: bytes) -> None:
    parse_record(data.decode("utf-8", "replace"))


@fuzz("approvals")
@given(shaped(lambda d: json.dumps(d) + "\n" + json.dumps({"user": "a", "time": 1, "branch": "b"})))
def test_approval_notes(data: bytes) -> None:
    parse_approvals(data, "0" * 40)


@fuzz("lfs")
@given(
    shaped(
        lambda d: (
            "version https://git-lfs.github.com/spec/v1\noid sha256:"
            + ("a" * 64 if d else str(d))
            + f"\nsize {abs(hash(str(d))) % 1000}\n"
        )
    )
)
def test_lfs_pointers(data: bytes) -> None:
    pointer = parse_pointer(data)
    assert pointer is None or (len(pointer.oid) == 64 and pointer.size >= 0)


@fuzz("results")
@given(shaped(lambda d: "timestamp,unit_id,variant,outcome,latency_ms,error\n" + _csv(d)))
def test_results_csv(data: bytes) -> None:
    _ours(lambda: parse_results(data))
