"""A bad mlvc.toml on prod is a warning, not a refusal: reads go on with the defaults and
say what is wrong (one test per command that used to exit 2); promotion still refuses."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import mlvc
from tests.support.gitrepo import GitRepo

BAD = "[registry\nprod = 'prod'\n"  # an unclosed table header: not TOML


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    r = GitRepo(tmp_path_factory.mktemp("badcfg") / "reg")
    r.commit("first", {"models/model.pkl": b"m1", "metrics/model.json": {"accuracy": 0.8}})
    r.checkout("dev", new=True)
    r.commit("dev", {"models/model.pkl": b"m2", "metrics/model.json": {"accuracy": 0.9}})
    r.checkout("prod")
    r.commit("a broken mlvc.toml", {"mlvc.toml": BAD})
    return r


def _warned(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(
        "mlvc: warning: mlvc.toml on prod is set aside, the defaults are in use: not valid TOML"
    )


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("grid",), "dev"),
        (("branches",), "dev"),
        (("diff", "prod", "dev"), "accuracy"),
    ],
)
def test_reads_warn_and_go_on_with_the_defaults(bad: GitRepo, args: tuple[str, ...], shown: str):
    out = mlvc("-C", str(bad.path), *args)
    assert out.returncode == 0, out.stderr
    assert shown in out.stdout
    _warned(out.stderr)


def test_grid_json_stays_json(bad: GitRepo) -> None:
    out = mlvc("-C", str(bad.path), "grid", "--json")
    assert out.returncode == 0 and out.stdout.lstrip().startswith("{")
    _warned(out.stderr)


def test_promotion_still_refuses_on_a_bad_file(bad: GitRepo) -> None:
    before = bad.git("for-each-ref")
    out = mlvc("-C", str(bad.path), "promote", "dev", "--yes")
    assert out.returncode == 2 and "mlvc.toml is not valid TOML" in out.stderr
    assert bad.git("for-each-ref") == before
