"""`mlvc drift` as a user runs it: a branch's log as a table, and `--follow` in a process of
its own while this test appends, truncates and stops it."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo

MLVC = str(Path(sys.executable).with_name("mlvc"))
ENV = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", "NO_COLOR": "1"}
HEADER = "timestamp,feature,metric,value,threshold\n"
TIMEOUT = 20.0


def mlvc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MLVC, *args], capture_output=True, text=True, env=ENV, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    g = GitRepo(tmp_path / "repo")
    g.commit(
        "Monitoring",
        {
            "models/model.pkl": b"v1",
            "metrics/model.json": {"accuracy": 0.8},
            "monitoring/drift.csv": HEADER + "2026-09-01T00:00:00Z,age,psi,0.1,0.2\n"
            "2026-09-01T00:00:00Z,[bold]x[/bold],psi,0.3,0.2\n",
        },
    )
    g.checkout("dev", new=True)
    g.commit("Dev drift", {"monitoring/drift.csv": HEADER})
    g.checkout("prod")
    return g


def test_drift_of_a_branch(repo: GitRepo) -> None:
    out = mlvc("-C", str(repo.path), "drift")
    assert out.returncode == 0, out.stderr
    assert "monitoring/drift.csv on prod: 2 rows, 1 alerts" in out.stdout
    assert "[bold]x[/bold]" in out.stdout  # literal
    data = json.loads(mlvc("-C", str(repo.path), "drift", "-b", "prod", "--json").stdout)
    assert [(s["feature"], s["alert"]) for s in data["series"]] == [
        ("age", False),
        ("[bold]x[/bold]", True),
    ]
    assert (
        json.loads(mlvc("-C", str(repo.path), "drift", "-b", "dev", "--json").stdout)["rows"] == 0
    )
    bad = mlvc("-C", str(repo.path), "drift", "-b", "nope")
    assert bad.returncode == 2 and bad.stderr.startswith("mlvc: ") and "nope" in bad.stderr
    other = mlvc("-C", str(repo.path), "drift", "--follow", "-b", "dev")
    assert other.returncode == 2
    assert "working tree, which is prod's: check out dev first" in other.stderr


def test_fail_on_alert_exits_1_only_when_a_latest_point_is_over(repo: GitRepo) -> None:
    over = mlvc("-C", str(repo.path), "drift", "--fail-on-alert")
    assert over.returncode == 1 and "1 alerts" in over.stdout
    assert over.stderr == (
        "mlvc: drift on prod: 1 feature(s) over threshold at their latest point: "
        "[bold]x[/bold] psi\n"
    )
    assert mlvc("-C", str(repo.path), "drift", "-b", "dev", "--fail-on-alert").returncode == 0
    repo.commit(  # the feature came back under its threshold: an old alert is history
        "Recovered",
        {
            "monitoring/drift.csv": HEADER + "2026-09-01T00:00:00Z,age,psi,0.1,0.2\n"
            "2026-09-01T00:00:00Z,x,psi,0.3,0.2\n2026-09-02T00:00:00Z,x,psi,0.1,0.2\n"
        },
    )
    back = mlvc("-C", str(repo.path), "drift", "--fail-on-alert", "--json")
    assert back.returncode == 0 and json.loads(back.stdout)["alerts"] == 1


def test_a_registry_never_closed_prints_nothing_at_exit(repo: GitRepo) -> None:
    repo.git("gc", "-q")  # packed: dulwich's pack objects are what complained at shutdown
    script = (
        f"import mlvc_tui\nreg = mlvc_tui.open({str(repo.path)!r})\n"
        "reg.read('prod', 'models/model.pkl')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0 and out.stderr == ""


def test_follow_on_a_bare_repository_is_refused(repo: GitRepo, tmp_path: Path) -> None:
    repo.git("clone", "-q", "--bare", str(repo.path), str(tmp_path / "bare.git"))
    out = mlvc("-C", str(tmp_path / "bare.git"), "drift", "--follow")
    assert out.returncode == 2 and "no working tree to follow" in out.stderr


class Lines:
    """A process's stdout, line by line, read on a thread; wait for a line with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        stream = proc.stdout
        threading.Thread(
            target=lambda: [self.lines.put(line) for line in stream], daemon=True
        ).start()

    def next(self, what: str) -> dict[str, object]:
        try:
            return dict(json.loads(self.lines.get(timeout=TIMEOUT)))
        except queue.Empty:
            pytest.fail(f"timed out waiting for {what}")


@pytest.mark.parametrize("poll", [False, True])
def test_follow_prints_points_as_they_are_written(repo: GitRepo, poll: bool) -> None:
    drift = repo.path / "monitoring" / "drift.csv"
    args = [MLVC, "-C", str(repo.path), "drift", "--follow", "-n", "1", "--json"]
    proc = subprocess.Popen(
        [*args, *(["--poll", "0.05"] if poll else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        out = Lines(proc)
        start = out.next("the start")
        assert start["event"] == "start"
        assert ("polling every 0.05 s" if poll else "inotify") in str(start["message"])
        assert out.next("the newest existing point")["feature"] == "[bold]x[/bold]"
        with drift.open("a") as fh:
            fh.write("2026-09-01T01:00:00Z,age,psi,0.5,0.2\n2026-09-01T01:00:00Z,age,ks,0.0")
        point = out.next("the appended point")
        assert (point["value"], point["alert"]) == (0.5, True)
        with drift.open("a") as fh:
            fh.write("4,0.1\n")  # the partial line completed
        assert out.next("the completed line")["metric"] == "ks"
        drift.write_text(HEADER + "2026-09-02T00:00:00Z,tenure,psi,0.01,0.2\n")
        assert out.next("the reset")["event"] == "reset"
        assert out.next("the first point of the new file")["feature"] == "tenure"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


HEAVY = """
import sys
sys.argv = ["mlvc", *sys.argv[1:]]
from mlvc_tui.cli.main import main
main()
import mlvc_tui.engine.live.watch, mlvc_tui.engine.live.tail, mlvc_tui.engine.live.observers
print(sorted(m for m in ("pandas", "textual", "numpy") if m in sys.modules))
"""


def test_drift_and_the_live_engine_import_neither_pandas_nor_textual(repo: GitRepo) -> None:
    out = subprocess.run(
        [sys.executable, "-c", HEAVY, "-C", str(repo.path), "drift", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=ENV,
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
