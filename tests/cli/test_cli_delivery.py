"""`mlvc route | delivery | canary | switch | ab` as a user runs them: the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlvc_tui.engine.demo.build import build_demo
from mlvc_tui.engine.demo.data import AB_TEST

MLVC = str(Path(sys.executable).with_name("mlvc"))


def mlvc(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run(
        [MLVC, "-C", str(repo), *args], capture_output=True, text=True, env=env, check=False
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("cli-delivery") / "demo", dirty=False)


def test_route_is_sticky_across_processes_and_matches_the_results(demo: Path) -> None:
    rows = subprocess.run(
        ["git", "-C", str(demo), "show", "ab/test-b:monitoring/experiments/results.csv"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[1:6]
    for row in rows:
        unit = row.split(",")[1]
        first, again = mlvc(demo, "route", unit, "--json"), mlvc(demo, "route", unit, "--json")
        assert first.returncode == 0 and first.stdout == again.stdout
        doc = json.loads(first.stdout)
        assert doc["branch"] == "ab/test-b" and doc["test"] == AB_TEST and doc["mode"] == "ab"
    plain = mlvc(demo, "route", "cust-00001")
    assert plain.stdout.split()[:2] == ["ab/test-a", "(bucket"]


def test_ab_report_on_the_demo_has_a_winner(demo: Path) -> None:
    out = mlvc(demo, "ab", "report", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    a, b = doc["variants"]
    assert (a["branch"], a["verdict"], a["version"]) == ("ab/test-a", "control", "v2.0.0")
    assert b["verdict"] == "winner" and b["comparison"]["p_value"] < 0.05
    assert a["count"] > 3000 and b["count"] > 3000 and b["drift_alerts"] > a["drift_alerts"]
    table = mlvc(demo, "ab", "report")
    assert "▲ winner" in table.stdout and "95% interval" in table.stdout
    named = json.loads(mlvc(demo, "ab", "report", "--test", AB_TEST, "--json").stdout)
    assert [v["count"] for v in named["variants"]] == [a["count"], b["count"]]
    unknown = mlvc(demo, "ab", "report", "--test", "no-such-test")
    assert unknown.returncode != 0 and "no test named 'no-such-test'" in unknown.stderr


def test_shifting_traffic_commits_and_git_log_shows_it(demo: Path, tmp_path: Path) -> None:
    repo = build_demo(tmp_path / "demo", dirty=False)
    steps = [
        ("ab", "stop"),
        ("canary", "staging", "--percent", "5", "--steps", "5,50,100", "--run-check"),
        ("canary", "--step"),
        ("canary", "--abort"),
        ("switch", "--standby", "staging", "--run-check"),
        ("switch",),
        ("ab", "start", "ab/test-a", "ab/test-b", "--weights", "90,10"),
        ("ab", "weights", "50,50"),
    ]
    for args in steps:
        out = mlvc(repo, *args, "--json")
        assert out.returncode == 0, (args, out.stderr)
        doc = json.loads(out.stdout)
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "prod"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert doc["commit"] == head
        if args == ("ab", "stop"):
            gated = mlvc(repo, "canary", "exp/deep-model", "--percent", "5")
            assert gated.returncode == 1 and "fails the promotion gates (primary:" in gated.stderr
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%s", "prod", "--", "delivery.toml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    subjects = log.splitlines()
    assert len(subjects) == len(steps) + 1  # and the demo's own start of the test
    assert subjects[1].startswith("delivery: start A/B test ab-")
    assert subjects[0].endswith("ab/test-a 90% -> 50%, ab/test-b 10% -> 50%")
    assert subjects[2] == "delivery: switch live to staging (was prod)"
    shown = mlvc(repo, "delivery")
    assert "who shifted traffic when" in shown.stdout and "Ana Ruiz" in shown.stdout


@pytest.mark.parametrize(
    ("args", "code", "reason"),
    [
        (("canary", "nope", "--percent", "5"), 2, "no branch named 'nope'"),
        (("canary", "staging", "--percent", "150"), 2, "percent must be above 0"),
        (("canary", "staging"), 2, "needs --percent"),
        (("canary", "--step", "--abort"), 2, "one of them"),
        (("canary", "--step"), 1, "no canary is running"),
        (("switch",), 1, "no blue/green deployment"),
        (("ab", "start", "dev", "staging"), 1, "is running: stop it first"),
        (("ab", "weights", "60,60"), 2, "sum to 120, not 100"),
        (("ab", "update"), 1, "no bandit is running"),
        (("ab", "stop", "--keep", "dev"), 2, "neither prod nor a variant"),
        (("ab",), 2, "required"),
    ],
)
def test_bad_requests_exit_with_one_line_and_change_nothing(
    demo: Path, args: tuple[str, ...], code: int, reason: str
) -> None:
    before = subprocess.run(
        ["git", "-C", str(demo), "rev-parse", "prod"], capture_output=True, text=True, check=True
    ).stdout
    out = mlvc(demo, *args)
    assert out.returncode == code, out.stderr
    assert reason in out.stderr and out.stderr.count("\n") == 1 and out.stdout == ""
    assert (
        subprocess.run(
            ["git", "-C", str(demo), "rev-parse", "prod"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        == before
    )


def test_delivery_commands_import_neither_numpy_pandas_nor_textual(demo: Path) -> None:
    code = (
        "import sys\nfrom mlvc_tui.cli.main import main\n"
        "import mlvc_tui.engine.delivery.rollout, mlvc_tui.engine.delivery.report\n"
        f"main(['-C', {str(demo)!r}, 'ab', 'report', '--json'])\n"
        f"main(['-C', {str(demo)!r}, 'route', 'u1'])\n"
        "heavy = [m for m in ('numpy', 'pandas', 'textual') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
