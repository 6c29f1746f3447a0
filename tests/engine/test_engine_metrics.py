"""Metrics: formats, directions, diffs, history and lineage on real repositories."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from mlvc_tui.engine import BadInput, Registry, Verdict
from mlvc_tui.engine.config import RegistryConfig, parse_config
from mlvc_tui.engine.metrics import merge_files, parse_metrics_file
from tests.support.gitrepo import GitRepo


def test_json_nested_flattens_to_dotted_keys() -> None:
    data = {
        "accuracy": 0.9,
        "latency_ms": {"p50": 12, "p95": 40},
        "ok": True,
        "name": "x",
        "per_class": [0.5, 0.7],
        "slices": {"region=eu": {"f1": 0.8}},
    }
    assert parse_metrics_file("metrics/model.json", json.dumps(data).encode()) == {
        "accuracy": 0.9,
        "latency_ms.p50": 12.0,
        "latency_ms.p95": 40.0,
        "per_class.0": 0.5,
        "per_class.1": 0.7,
        "slices.region=eu.f1": 0.8,
    }


def test_yaml_and_both_csv_forms() -> None:
    assert parse_metrics_file("metrics/m.yaml", b"auc: 0.7\nnested:\n  rmse: 1.5\n") == {
        "auc": 0.7,
        "nested.rmse": 1.5,
    }
    kv = b"metric,value\naccuracy,0.91\nloss,0.2\nnote,n/a\n"
    assert parse_metrics_file("metrics/m.csv", kv) == {"accuracy": 0.91, "loss": 0.2}
    steps = b"step,loss,accuracy\n1,0.9,0.5\n2,0.4,0.8\n\n"
    assert parse_metrics_file("metrics/train.csv", steps) == {"loss": 0.4, "accuracy": 0.8}


def test_nan_and_infinities_are_kept() -> None:
    parsed = parse_metrics_file("metrics/model.json", b'{"a": NaN, "b": Infinity, "c": -1e999}')
    assert math.isnan(parsed["a"]) and parsed["b"] == math.inf and parsed["c"] == -math.inf


@pytest.mark.parametrize(
    "path, data, reason",
    [
        ("metrics/model.json", b"{not json", "not valid"),
        ("metrics/model.json", b"\x00\x01\x02binary", "binary"),
        ("metrics/model.yaml", b"a: [1, 2", "not valid"),
        ("metrics/model.json", b"\xff\xfe\xfa", "not UTF-8"),
    ],
)
def test_unreadable_files_are_refused(path: str, data: bytes, reason: str) -> None:
    with pytest.raises(BadInput, match=reason):
        parse_metrics_file(path, data)


def test_file_prefixes_and_errors_per_file() -> None:
    merged = merge_files(
        [
            ("metrics/model.json", b'{"accuracy": 0.9}'),
            ("metrics/train_history.csv", b"step,loss\n1,0.3\n"),
            ("metrics/broken.json", b"{"),
        ],
        model_stem=None,
    )
    assert merged.values == {"accuracy": 0.9, "train_history.loss": 0.3}
    assert list(merged.errors) == ["metrics/broken.json"]


def test_directions_by_name_and_config() -> None:
    default = RegistryConfig()
    assert default.higher_is_better("accuracy") and default.higher_is_better("slices.eu.f1")
    for key in ("loss", "val_loss", "rmse", "latency_ms.p95", "error_rate", "mae"):
        assert not default.higher_is_better(key), key
    config = parse_config(
        b'[metrics]\nprimary = "auc"\n[metrics.direction]\nlatency_ms = '
        b'"higher"\n"slices.eu.f1" = "lower"\n'
    )
    assert config.primary_metric == "auc"
    assert config.higher_is_better("p.latency_ms") and not config.higher_is_better("slices.eu.f1")


@pytest.mark.parametrize(
    "text, reason",
    [
        (b"[registry\n", "not valid TOML"),
        (b'[metrics.direction]\nloss = "down"\n', "higher"),
        (b"[registry]\nprod = 3\n", "must be a string"),
        (b"[registry]\nenvironments = [1]\n", "list of strings"),
    ],
)
def test_bad_config_is_refused(text: bytes, reason: str) -> None:
    with pytest.raises(BadInput, match=reason):
        parse_config(text)


@pytest.fixture
def reg_repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "reg", branch="live")
    r.git("config", "mlvc.prod", "live")  # this repository's own config names prod (issue 11.3)
    r.commit(
        "config",
        {
            "mlvc.toml": '[registry]\nprod = "live"\n[metrics]\nprimary = "f1"\n',
            "models/clf.joblib": b"v1",
            "metrics/clf.json": {"f1": 0.5, "loss": 1.0},
        },
    )
    r.commit(
        "v2",
        {
            "models/clf.joblib": b"v2",
            "metrics/clf.json": {"f1": 0.6, "loss": 0.8},
            "models/clf.lineage.json": {"sha256": "ab", "format": "joblib"},
        },
    )
    r.commit("docs only", {"README.md": "hi"})
    r.checkout("exp/nan", new=True)
    r.commit("diverged", {"metrics/clf.json": '{"f1": NaN, "loss": 0.7, "extra": 1}'})
    r.checkout("exp/broken", new=True)
    r.commit("broken metrics", {"metrics/clf.json": "{oops"})
    r.checkout("live")
    return r


def test_config_from_prod_sets_prod_and_primary(reg_repo: GitRepo) -> None:
    with Registry.open(reg_repo.path) as reg:
        assert reg.prod == "live" and reg.primary_metric() == "f1"
        assert reg.model_path("live") == "models/clf.joblib"
        grid = reg.grid()
    assert grid.rows[0].branch.name == "live"
    broken = grid.row("exp/broken")
    assert broken is not None and broken.primary_value is None
    assert "not valid" in broken.metrics.errors["metrics/clf.json"]
    assert grid.row("exp/nan").primary_verdict is Verdict.INVALID


def test_diff_between_refs_and_worktree(reg_repo: GitRepo) -> None:
    reg_repo.write({"metrics/clf.json": {"f1": 0.7, "loss": 0.8}})
    with Registry.open(reg_repo.path) as reg:
        d = reg.diff("live", "exp/nan")
        rows = {r.key: r for r in d.rows}
        assert rows["f1"].verdict is Verdict.INVALID
        assert rows["loss"].verdict is Verdict.BETTER
        assert rows["loss"].delta == pytest.approx(-0.1)
        assert rows["loss"].relative == pytest.approx(-0.125)
        assert rows["extra"].verdict is Verdict.NEW
        back = {r.key: r.verdict for r in reg.diff("exp/nan", "live").rows}
        assert back["extra"] is Verdict.MISSING
        work = reg.diff()
        assert work.b == ":worktree" and {r.key: r.verdict for r in work.rows} == {
            "f1": Verdict.BETTER,
            "loss": Verdict.SAME,
        }
        assert [r.key for r in work.changed] == ["f1"]
        broken = reg.diff("live", "exp/broken")
        assert "exp/broken:metrics/clf.json" in broken.errors


def test_history_follows_first_parent(reg_repo: GitRepo) -> None:
    with Registry.open(reg_repo.path) as reg:
        points = reg.history("f1", "live")
        with pytest.raises(BadInput, match="'nope' is not on live"):
            reg.history("nope", "live")
    expected = reg_repo.git("log", "--first-parent", "--format=%H", "live").split()
    assert [p.commit.id for p in points] == expected
    assert [p.value for p in points] == [0.6, 0.6, 0.5]


def test_lineage_finds_the_changing_commit(reg_repo: GitRepo) -> None:
    with Registry.open(reg_repo.path) as reg:
        lin = reg.lineage("clf", "live")
        assert reg.lineage(None, "live").model == "models/clf.joblib"
        with pytest.raises(BadInput, match="no model 'nope'"):
            reg.lineage("nope", "live")
    last = reg_repo.git("log", "-1", "--format=%H", "live", "--", "models/clf.joblib").strip()
    assert lin.version.commit.id == last and lin.version.commit.summary == "v2"
    assert [v.commit.summary for v in lin.previous] == ["config"]
    assert lin.record is not None and lin.record.fields["format"] == "joblib"
    assert lin.config["mlvc.toml"] == reg_repo.rev(f"{last}:mlvc.toml")
    assert lin.code is None and lin.data == {}


def test_lineage_record_checked_against_the_model_bytes(reg_repo: GitRepo) -> None:
    reg_repo.checkout("exp/rec", new=True)
    digest = hashlib.sha256(b"v3").hexdigest()
    reg_repo.commit(
        "v3 with record",
        {"models/clf.joblib": b"v3", "models/clf.lineage.json": {"sha256": digest}},
    )
    reg_repo.commit("v4, stale record", {"models/clf.joblib": b"v4"})
    reg_repo.checkout("live")
    with Registry.open(reg_repo.path) as reg:
        stale = reg.lineage("clf", "exp/rec")
        fresh = reg.lineage("clf", "exp/rec~1")
        assert reg.lineage("clf", "live").record.matches is False  # "ab" is not its sha256
        assert reg.branches_containing(fresh.version.commit.id) == ("exp/rec",)
        assert set(reg.branches_containing(reg.commit("live").id)) >= {"live", "exp/rec"}
    assert stale.record is not None and stale.record.matches is False
    assert fresh.record is not None and fresh.record.matches is True


def test_drift_of_a_ref_with_thresholds_from_config(tmp_path: Path) -> None:
    r = GitRepo(tmp_path / "reg")
    r.commit(
        "drift",
        {
            "mlvc.toml": "[drift.thresholds]\npsi = 0.2\n",
            "monitoring/drift.csv": (
                "timestamp,feature,metric,value\nt1,age,psi,0.1\nt2,age,psi,0.3\n"
            ),
        },
    )
    with Registry.open(r.path) as reg:
        report = reg.drift("prod")
        assert (report.rows, report.alerts) == (2, 1)
        with pytest.raises(BadInput, match=r"has no monitoring/other\.csv"):
            reg.drift("prod", "monitoring/other.csv")
