"""The registry watcher on real repositories: `git` commits, branches and fetches made by
other processes, files written in the working tree, with inotify and with polling."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from watchdog.observers.api import BaseObserver, EventEmitter
from watchdog.observers.polling import PollingObserver

from mlvc_tui.engine import Registry
from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.live.observers import choose_observer, network_fs
from mlvc_tui.engine.live.watch import MAX_PATHS, Change, RegistryWatcher, apply_change
from tests.support.gitrepo import GitRepo

TIMEOUT = 20.0  # generous: a loaded 2-core CI machine


def wait_for(what: str, cond: Callable[[], object], timeout: float = TIMEOUT) -> None:
    """Poll ``cond`` until it holds; fail saying ``what`` did not happen."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


class Seen:
    """Every Change a watcher handed out, merged (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.all = Change()
        self.count = 0

    def __call__(self, change: Change) -> None:
        with self.lock:
            self.all = self.all.merge(change)
            self.count += 1

    def ref(self, name: str) -> bool:
        with self.lock:
            return name in self.all.refs

    def path(self, name: str) -> bool:
        with self.lock:
            return self.all.touches(name)

    def clear(self) -> None:
        with self.lock:
            self.all = Change()


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    g = GitRepo(tmp_path / "repo")
    g.commit("Initial model", {"models/model.pkl": b"v1", "metrics/model.json": {"accuracy": 0.8}})
    g.checkout("dev", new=True)
    g.commit("Dev model", {"metrics/model.json": {"accuracy": 0.83}})
    g.checkout("prod")
    return g


@pytest.fixture(params=["native", "polling"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLVC_WATCH", "native" if request.param == "native" else "poll")
    monkeypatch.setenv("MLVC_POLL_INTERVAL", "0.05")
    return str(request.param)


def test_commits_branches_and_files_from_other_processes(repo: GitRepo, mode: str) -> None:
    seen = Seen()
    with Registry.open(repo.path) as reg, RegistryWatcher.of(reg, seen) as watcher:
        assert watcher.observer == (
            "inotify" if mode == "native" else "polling every 0.05 s (MLVC_WATCH=poll)"
        )
        repo.commit("Retrain", {"metrics/model.json": {"accuracy": 0.9}})
        wait_for("the commit on prod", lambda: seen.ref("refs/heads/prod"))
        assert apply_change(reg, seen.all) == {"refs/heads/prod"}
        assert reg.branch_tip("prod") == repo.rev("prod")

        seen.clear()
        repo.git("branch", "exp/new-idea", "dev")
        repo.git("branch", "-D", "dev")
        wait_for("the new branch", lambda: seen.ref("refs/heads/exp/new-idea"))
        wait_for("the deleted branch", lambda: seen.ref("refs/heads/dev"))
        assert apply_change(reg, seen.all) == {"refs/heads/exp/new-idea", "refs/heads/dev"}
        assert [b.name for b in reg.branches()] == ["prod", "exp/new-idea"]

        seen.clear()
        (repo.path / "metrics" / "model.json").write_text('{"accuracy": 0.95, "f1": 0.9}')
        (repo.path / "monitoring").mkdir()  # an artifact folder made after the start
        wait_for("the metrics file", lambda: seen.path("metrics/model.json"))
        wait_for("the new folder", lambda: seen.path("monitoring/"))
        assert apply_change(reg, Change(paths=seen.all.paths)) == frozenset()
        assert [c.path for c in reg.worktree_changes()] == ["metrics/model.json"]
        (repo.path / "monitoring" / "drift.csv").write_text("timestamp,age_psi\n")
        wait_for(
            "a file in the new folder",
            lambda: seen.path("monitoring/drift.csv") and "monitoring/drift.csv" in seen.all.paths,
        )
        (repo.path / "src").mkdir()
        (repo.path / "src" / "train.py").write_text("print('not an artifact')\n")
        repo.commit("Code", {})
        wait_for("the code commit", lambda: seen.ref("refs/heads/prod"))
        assert not seen.path("src/train.py")


def test_fetch_moves_remote_tracking_branches(repo: GitRepo, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    repo.git("clone", "-q", str(repo.path), str(clone))
    seen = Seen()
    with Registry.open(clone) as reg, RegistryWatcher.of(reg, seen):
        repo.commit("Upstream retrain", {"metrics/model.json": {"accuracy": 0.91}})
        GitRepo.existing(clone).git("fetch", "-q", "origin")
        wait_for("the fetched branch", lambda: seen.ref("refs/remotes/origin/prod"))
        assert "refs/remotes/origin/prod" in apply_change(reg, seen.all)
        assert reg.resolve("origin/prod") == repo.rev("prod")


def test_gc_packs_refs_and_moves_nothing(repo: GitRepo) -> None:
    seen = Seen()
    with Registry.open(repo.path) as reg, RegistryWatcher.of(reg, seen):
        repo.git("pack-refs", "--all")
        wait_for("packed-refs", lambda: seen.ref("packed-refs"))
        assert apply_change(reg, seen.all) == frozenset()
        repo.git("checkout", "-q", "dev")
        wait_for("HEAD", lambda: seen.ref("HEAD"))
        assert apply_change(reg, seen.all) == {"HEAD"}
        assert reg.head == "dev"


def test_bare_repository_watches_refs_only(repo: GitRepo, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.path), str(bare))
    seen = Seen()
    with Registry.open(bare) as reg, RegistryWatcher.of(reg, seen) as watcher:
        assert watcher.bare
        repo.commit("Retrain", {"metrics/model.json": {"accuracy": 0.9}})
        repo.git("push", "-q", str(bare), "prod")
        wait_for("the push", lambda: seen.ref("refs/heads/prod"))
        assert seen.all.paths == frozenset()
        assert apply_change(reg, seen.all) == {"refs/heads/prod"}


def test_a_burst_is_coalesced_and_bounded(repo: GitRepo) -> None:
    seen = Seen()
    logs = repo.path / "logs"
    logs.mkdir()
    with (
        Registry.open(repo.path) as reg,
        RegistryWatcher.of(reg, seen, debounce=0.2, max_delay=5.0) as watcher,
    ):
        for i in range(MAX_PATHS + 50):
            (logs / f"job-{i}.log").write_text("x")
        wait_for("the burst", lambda: seen.all.overflow)
        assert watcher.events > MAX_PATHS
        assert seen.count < watcher.events / 10  # far fewer Changes than events
        assert seen.all.touches("anything/at/all")


def test_stop_ends_every_thread(repo: GitRepo) -> None:
    before = set(threading.enumerate())
    with Registry.open(repo.path) as reg:
        watcher = RegistryWatcher.of(reg, Seen()).start()
        assert watcher.running
        watcher.stop()
        assert not watcher.running
    wait_for("the observer threads to end", lambda: set(threading.enumerate()) <= before)


class _NoWatchesLeft(EventEmitter):
    """Fails as inotify does when the kernel's watch limit is reached (ENOSPC).

    The one stand-in in these tests: exhausting the real limit would break every other
    process of this user on the machine.
    """

    def on_thread_start(self) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    def queue_events(self, timeout: float) -> None:
        pass


def test_polling_takes_over_when_the_native_observer_cannot_start(repo: GitRepo) -> None:
    seen = Seen()
    with (
        Registry.open(repo.path) as reg,
        RegistryWatcher.of(
            reg, seen, interval=0.05, native=lambda: BaseObserver(_NoWatchesLeft)
        ) as watcher,
    ):
        assert watcher.observer == (
            "polling every 0.05 s (native observer failed: inotify watch limit reached)"
        )
        repo.commit("Retrain", {"metrics/model.json": {"accuracy": 0.9}})
        wait_for("the commit, seen by polling", lambda: seen.ref("refs/heads/prod"))


def test_observer_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLVC_WATCH", raising=False)
    monkeypatch.delenv("MLVC_POLL_INTERVAL", raising=False)
    assert choose_observer(tmp_path).polling is False
    assert choose_observer(tmp_path, polling=True, interval=2).reason == "asked for"
    assert isinstance(choose_observer(tmp_path, polling=True).make(), PollingObserver)
    monkeypatch.setenv("MLVC_WATCH", "poll")
    assert choose_observer(tmp_path).polling is True
    assert choose_observer(tmp_path, polling=False).polling is False
    monkeypatch.setenv("MLVC_WATCH", "sometimes")
    with pytest.raises(BadInput, match="MLVC_WATCH"):
        choose_observer(tmp_path)
    monkeypatch.setenv("MLVC_WATCH", "auto")
    monkeypatch.setenv("MLVC_POLL_INTERVAL", "soon")
    with pytest.raises(BadInput, match="not a number"):
        choose_observer(tmp_path)


MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /mnt/models rw,relatime shared:20 - nfs4 srv:/export/models rw,vers=4.2
41 40 0:36 / /mnt/models/local rw,relatime - ext4 /dev/sdb1 rw
42 22 0:37 / /mnt/team\\040share rw - cifs //srv/team rw
"""


def test_network_file_systems_are_recognised() -> None:
    assert network_fs(Path("/home/ana/repo"), MOUNTINFO) is None
    assert network_fs(Path("/mnt/models/registry"), MOUNTINFO) == "nfs4"
    assert network_fs(Path("/mnt/models"), MOUNTINFO) == "nfs4"
    assert network_fs(Path("/mnt/models/local/registry"), MOUNTINFO) is None
    assert network_fs(Path("/mnt/models2"), MOUNTINFO) is None
    assert network_fs(Path("/mnt/team share/r"), MOUNTINFO) == "cifs"


def test_change_values() -> None:
    change = Change(frozenset({"HEAD"}), frozenset({"logs/", "metrics/model.json"}))
    assert change.touches("logs/train.log") and change.touches("metrics/model.json")
    assert not change.touches("models/model.pkl")
    assert not Change() and Change(overflow=True)
    big = Change(paths=frozenset(f"logs/{i}" for i in range(MAX_PATHS)))
    merged = big.merge(Change(paths=frozenset({"logs/one-more"})))
    assert merged.overflow and merged.paths == frozenset()
