"""Metrics parsed once per (path, blob): the same answers as parsing every file, a changed
file gives changed metrics, bad files keep their reasons, and the cache stays bounded."""

from __future__ import annotations

from pathlib import Path

from mlvc_tui.engine.metric_blobs import MetricBlobs
from mlvc_tui.engine.metrics import merge_files
from mlvc_tui.engine.registry import Registry
from tests.support.gitrepo import GitRepo

FOLDS = {f"metrics/folds/fold_{i}.json": {"score": i / 10, "rmse": 1 - i / 10} for i in range(6)}


def _repo(tmp_path: Path) -> GitRepo:
    g = GitRepo(tmp_path / "reg")
    g.commit("prod", {"models/model.pkl": b"m", "metrics/model.json": {"accuracy": 0.8}, **FOLDS})
    for name, acc in (("exp/a", 0.81), ("exp/b", 0.82)):
        g.checkout(name, new=True)
        g.commit(name, {"metrics/model.json": {"accuracy": acc}})
        g.checkout("prod")
    return g


def _expected(g: GitRepo, ref: str) -> dict[str, float]:
    files = g.git("ls-tree", "-r", "--name-only", ref, "metrics").split()
    blobs = [(p, g.git("show", f"{ref}:{p}").encode()) for p in files]
    return merge_files(blobs, None).values


def test_shared_files_are_parsed_once_and_give_the_same_metrics(tmp_path: Path) -> None:
    g = _repo(tmp_path)
    with Registry.open(g.path) as reg:
        got = {b: reg.metrics(b).values for b in ("prod", "exp/a", "exp/b")}
        parses = reg._tree_metrics.blobs.parses
    assert got["exp/b"]["accuracy"] == 0.82 and got["exp/b"]["folds.fold_3.score"] == 0.3
    for ref, values in got.items():
        assert values == _expected(g, ref)
    assert parses == len(FOLDS) + 3  # each fold file once, model.json once per branch


def test_a_changed_blob_gives_changed_metrics(tmp_path: Path) -> None:
    g = _repo(tmp_path)
    with Registry.open(g.path) as reg:
        before = reg.metrics("exp/a").values
        g.checkout("exp/a")
        g.commit("better fold", {"metrics/folds/fold_2.json": {"score": 0.99, "rmse": 0.01}})
        g.checkout("prod")
        reg.refresh()
        after = reg.metrics("exp/a").values
    assert before["folds.fold_2.score"] == 0.2 and after["folds.fold_2.score"] == 0.99
    assert after == _expected(g, "exp/a")
    with Registry.open(g.path) as again:  # and from the disk cache in a new process
        assert again.metrics("exp/a").values == after


def test_bad_and_too_large_files_keep_their_reasons(tmp_path: Path) -> None:
    g = GitRepo(tmp_path / "bad")
    g.commit("prod", {"metrics/model.json": {"accuracy": 0.8}, "metrics/broken.json": "{"})
    blobs = MetricBlobs()
    calls = []

    def read() -> bytes:
        calls.append(1)
        return b"{}"

    values, prefixed, was_read = blobs.parsed("metrics/huge.json", "a" * 40, lambda: 9 << 20, read)
    assert not was_read and prefixed is None and not calls
    assert values == "metrics/huge.json is too large to parse (9437184 bytes; the limit is 8388608)"
    with Registry.open(g.path) as reg:
        m = reg.metrics("prod")
    assert m.values == {"accuracy": 0.8} and "metrics/broken.json" in m.errors


def test_the_cache_stays_bounded() -> None:
    blobs = MetricBlobs(max_values=50)
    for i in range(200):
        data = b'{"a": %d, "b": %d}' % (i, i)
        values, prefixed, _ = blobs.parsed(
            f"metrics/f{i}.json", f"{i:040x}", lambda: 20, lambda d=data: d
        )
        assert values == {"a": float(i), "b": float(i)} and prefixed == {f"f{i}.a": i, f"f{i}.b": i}
        assert len(blobs) <= 10  # five values per file (1 + 2 x 2) within 50
    again, _, _ = blobs.parsed("metrics/f0.json", f"{0:040x}", lambda: 20, lambda: b'{"a": 7}')
    assert again == {"a": 7.0}  # dropped long ago: parsed afresh
