"""What the speed work must not change: a bounded disk cache, the same answers with or
without it, and tags peeled from packed-refs read as from their tag objects."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlvc_tui.engine.git import diskcache
from mlvc_tui.engine.git.diskcache import ObjectCache
from mlvc_tui.engine.promotion.versions import version_history
from mlvc_tui.engine.registry import Registry


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    shutil.rmtree(dest / ".git" / "mlvc", ignore_errors=True)
    return dest


def test_cache_file_stays_under_its_cap_keeping_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "cache-v1"
    cache = ObjectCache(path)
    cache.max_bytes = 64 << 10
    for i in range(20_000):
        cache.trees[f"{i:040x}"] = ((f"file-{i}.csv", 0o100644, f"{i:040x}"),)
        cache.sizes[f"{i:040x}"] = i
    cache.metrics["m" * 40] = ({"accuracy": 0.9}, {})
    cache.save()
    assert 0 < path.stat().st_size <= 64 << 10
    again = ObjectCache(path)
    assert f"{19_999:040x}" in again.trees and f"{0:040x}" not in again.trees
    assert again.metrics["m" * 40] == ({"accuracy": 0.9}, {})
    assert again.trees[f"{19_999:040x}"] == ((f"file-{19_999}.csv", 0o100644, f"{19_999:040x}"),)


def test_a_tiny_cap_bounds_the_file_and_changes_no_answer(
    demo_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _copy(demo_repo, tmp_path / "demo")
    with Registry.open(repo) as reg:
        expected = reg.grid()
    cache_file = repo / ".git" / "mlvc" / "cache-v1"
    assert cache_file.stat().st_size > 2048  # the demo's facts need more than the cap below
    monkeypatch.setattr(diskcache, "MAX_BYTES", 2048)
    for _ in range(3):  # each run re-reads what was dropped, and stays within the cap
        with Registry.open(repo) as reg:
            assert reg.grid() == expected
        assert cache_file.stat().st_size <= 2048


def test_a_repository_too_large_for_the_cap_keeps_a_bounded_cache(
    demo_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _copy(demo_repo, tmp_path / "demo")
    monkeypatch.setattr(diskcache, "MAX_BYTES", 1024)
    with Registry.open(repo) as reg:
        expected = reg.grid()
    monkeypatch.setattr(diskcache, "MAX_BYTES", 0)  # nothing fits: no file, same answers
    shutil.rmtree(repo / ".git" / "mlvc")
    with Registry.open(repo) as reg:
        assert reg.grid() == expected
    assert not (repo / ".git" / "mlvc" / "cache-v1").exists()


def test_packed_tags_read_as_loose_ones(demo_repo: Path, tmp_path: Path) -> None:
    repo = _copy(demo_repo, tmp_path / "demo")
    with Registry.open(repo) as reg:
        tags, history = reg.tags(), version_history(reg, "prod")
    assert tags and any(e.kind == "tag" or e.tagged for e in history)
    subprocess.run(["git", "-C", str(repo), "pack-refs", "--all"], check=True)
    packed = (repo / ".git" / "packed-refs").read_text()
    assert "\n^" in packed  # annotated tags come with their peeled lines
    with Registry.open(repo) as reg:
        assert reg.tags() == tags
        assert version_history(reg, "prod") == history


def test_metrics_in_the_cache_keep_their_own_budget(
    demo_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _copy(demo_repo, tmp_path / "demo")
    with Registry.open(repo) as reg:
        expected = reg.grid()
        trees = len(reg.objects.cache.metrics)
    assert trees > 2
    monkeypatch.setattr(diskcache, "MAX_METRIC_VALUES", 40)  # a few trees' worth
    for _ in range(2):  # an older, larger file is trimmed; new trees stay within too
        with Registry.open(repo) as reg:
            assert reg.grid() == expected
            held = reg.objects.cache.metrics
            assert 0 < sum(len(v) + 1 for v, _ in held.values()) <= 40 and len(held) < trees


def test_a_malformed_metrics_entry_is_ignored_and_rebuilt(demo_repo: Path, tmp_path: Path) -> None:
    repo = _copy(demo_repo, tmp_path / "demo")
    with Registry.open(repo) as reg:
        expected = reg.grid()
    path = repo / ".git" / "mlvc" / "cache-v1"
    cache = ObjectCache(path)
    key = next(iter(cache.metrics))
    cache.metrics[key] = "not metrics"  # type: ignore[assignment]
    cache.trees["0" * 40] = ()  # something new, so that it is written
    cache.save()
    assert ObjectCache(path).metrics.get(key) is None  # dropped on load
    with Registry.open(repo) as reg:
        assert reg.grid() == expected
    assert isinstance(ObjectCache(path).metrics[key], tuple)  # rebuilt
