"""`mlvc cp` both ways and `mlvc reproduce` on the demo, as a user runs them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlvc_tui.engine.demo.build import build_demo
from tests.support.gitrepo import GitRepo

MLVC = str(Path(sys.executable).with_name("mlvc"))
ATTRS = "*.bin filter=lfs diff=lfs merge=lfs -text\n"


def mlvc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "HOME": "/nonexistent",
        "GIT_AUTHOR_NAME": "Ana Ruiz",
        "GIT_AUTHOR_EMAIL": "ana@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }  # as gitrepo's git
    return subprocess.run(
        [MLVC, *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "reg")
    r.commit(
        "first",
        {
            ".gitattributes": ATTRS,
            "models/model.pkl": b"m1",
            "metrics/model.json": {"accuracy": 0.8},
        },
    )
    r.git("branch", "exp/x")
    r.git("tag", "v1")
    return r


def test_cp_into_a_branch_is_one_commit(repo: GitRepo, tmp_path: Path) -> None:
    local = tmp_path / "model.joblib"
    local.write_bytes(b"joblib bytes")
    out = mlvc("-C", str(repo.path), "cp", str(local), "exp/x:models/model.joblib")
    assert out.returncode == 0, out.stderr
    assert "copied" in out.stdout and "exp/x:models/model.joblib" in out.stdout
    assert repo.git("show", "exp/x:models/model.joblib") == "joblib bytes"
    assert (
        repo.git("log", "--format=%s", "-1", "exp/x") == "Copy model.joblib to "
        "models/model.joblib\n"
    )
    out = mlvc("-C", str(repo.path), "cp", "--json", "-m", "Add it", str(local), "exp/x:data/")
    doc = json.loads(out.stdout)
    assert doc["dst"] == "exp/x:data/model.joblib" and doc["size"] == 12
    assert repo.git("log", "--format=%s", "-1", "exp/x") == "Add it\n"
    assert repo.git("fsck", "--strict", "--no-dangling") == ""
    assert repo.git("status", "--porcelain") == ""


def test_cp_of_a_broken_config_is_refused_and_nothing_lands(repo: GitRepo, tmp_path: Path) -> None:
    """The bug: the commit landed, then every command (this fix included) refused to start."""
    bad = tmp_path / "bad.toml"
    bad.write_text("not = [valid\n")
    before = repo.git("for-each-ref")
    out = mlvc("-C", str(repo.path), "cp", str(bad), "prod:mlvc.toml")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("mlvc: mlvc.toml is not valid TOML")
    assert "refused, nothing was committed to prod" in out.stderr
    assert repo.git("for-each-ref") == before and repo.git("status", "--porcelain") == ""
    good = tmp_path / "good.toml"
    good.write_text('[registry]\nprod = "prod"\n')
    assert mlvc("-C", str(repo.path), "cp", str(good), "prod:mlvc.toml").returncode == 0
    assert mlvc("-C", str(repo.path), "grid").returncode == 0


def test_cp_to_an_lfs_path_and_back_out(repo: GitRepo, tmp_path: Path) -> None:
    big = tmp_path / "weights.bin"
    big.write_bytes(bytes(range(256)) * 4096)
    out = mlvc("-C", str(repo.path), "cp", str(big), "exp/x:models/")
    assert out.returncode == 0, out.stderr
    assert "Git LFS" in out.stdout
    oid = hashlib.sha256(big.read_bytes()).hexdigest()
    assert f"oid sha256:{oid}" in repo.git("show", "exp/x:models/weights.bin")
    back = tmp_path / "out"
    back.mkdir()
    out = mlvc("-C", str(repo.path), "cp", "exp/x:models/weights.bin", str(back))
    assert out.returncode == 0, out.stderr
    assert (back / "weights.bin").read_bytes() == big.read_bytes()
    out = mlvc("-C", str(repo.path), "cp", "exp/x:models/weights.bin", "prod:models/w.bin")
    assert out.returncode == 0, out.stderr  # ref to ref: the same LFS object serves both
    assert repo.git("show", "prod:models/w.bin") == repo.git("show", "exp/x:models/weights.bin")
    assert (repo.path / "models/w.bin").exists() and repo.git("status", "--porcelain") == ""


def test_cp_out_of_a_tag(repo: GitRepo, tmp_path: Path) -> None:
    out = mlvc("-C", str(repo.path), "cp", "v1:models/model.pkl", str(tmp_path / "m.pkl"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "m.pkl").read_bytes() == b"m1"


@pytest.mark.parametrize(
    ("src", "dst", "message"),
    [
        ("{tmp}/model.bin", "{tmp}/copy.bin", "neither side is in the registry"),
        ("{tmp}/model.bin", "v1:models/x.bin", "v1 is not a branch"),
        ("{tmp}/model.bin", "nope:models/x.bin", "no branch, tag or commit named 'nope'"),
        ("{tmp}/missing.bin", "exp/x:models/x.bin", "missing.bin: no such file"),
        ("{tmp}", "exp/x:models/", "is a folder: mlvc cp copies one file"),
        ("prod:models/nope.pkl", "{tmp}/copy.bin", "no file models/nope.pkl on prod"),
        ("prod:models", "{tmp}/copy.bin", "is a folder, not a file"),
        ("prod:models/model.pkl", "{tmp}/no/such/copy.bin", "no such folder"),
        ("exp/x:models/model.pkl", ":models/x.pkl", "expected REF:PATH"),
    ],
)
def test_cp_refusals_change_nothing(
    repo: GitRepo, tmp_path: Path, src: str, dst: str, message: str
) -> None:
    (tmp_path / "model.bin").write_bytes(b"x")
    refs = repo.git("for-each-ref")
    out = mlvc("-C", str(repo.path), "cp", src.format(tmp=tmp_path), dst.format(tmp=tmp_path))
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert repo.git("for-each-ref") == refs
    assert not (tmp_path / "copy.bin").exists()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    path = build_demo(tmp_path_factory.mktemp("repro") / "demo", seed=7, dirty=False)
    g = GitRepo.existing(path)
    g.git("branch", "exp/tampered", "dev")
    g.checkout("exp/tampered")
    metrics = json.loads(g.git("show", "dev:metrics/model.json"))
    metrics["accuracy"] = round(metrics["accuracy"] + 0.05, 4)
    g.commit(
        "Hand-edited model and accuracy",
        {"models/model.pkl": b"not what train.py makes", "metrics/model.json": metrics},
    )
    g.checkout("dev")
    return g


def test_reproduce_matches_on_the_demo(demo: GitRepo) -> None:
    out = mlvc("-C", str(demo.path), "reproduce", "dev")
    assert out.returncode == 0, out.stderr
    assert "reproduced: model and metrics match" in out.stdout
    assert "python src/train.py" in out.stdout
    out = mlvc("-C", str(demo.path), "reproduce", "dev", "--json")
    doc = json.loads(out.stdout)
    assert doc["match"] and doc["model_match"] and doc["mismatched"] == []
    rec = doc["reproduction"]
    assert rec["recorded_sha256"] == rec["reproduced_sha256"]
    last_train = demo.git("log", "-1", "--format=%H", "dev", "--", "models/model.pkl").strip()
    assert rec["commit"] == last_train
    assert demo.git("status", "--porcelain") == ""  # nothing touched
    assert demo.git("worktree", "list").count("\n") == 1


def test_reproduce_reports_a_mismatch_with_deltas(demo: GitRepo) -> None:
    out = mlvc("-C", str(demo.path), "reproduce", "exp/tampered", "--json")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert not doc["match"] and not doc["model_match"] and doc["mismatched"] == ["accuracy"]
    row = next(r for r in doc["reproduction"]["metrics"] if r["key"] == "accuracy")
    assert row["delta"] == pytest.approx(-0.05)
    out = mlvc("-C", str(demo.path), "reproduce", "exp/tampered", "--tolerance", "0.06")
    assert out.returncode == 1 and "NOT reproduced: the model differs" in out.stdout
    assert "DIFFERENT" in out.stdout


def test_reproduce_refusals(repo: GitRepo, demo: GitRepo) -> None:
    out = mlvc("-C", str(repo.path), "reproduce", "prod")
    assert out.returncode == 2 and "no training command" in out.stderr
    out = mlvc("-C", str(demo.path), "reproduce", "dev", "--command", "echo boom; exit 3")
    assert out.returncode == 1
    assert "failed (exit 3)" in out.stderr and len(out.stderr.strip().splitlines()) >= 1
    out = mlvc("-C", str(demo.path), "reproduce", "dev", "--command", "true")
    assert out.returncode == 1 and "not written by the command" in out.stdout
    out = mlvc("-C", str(demo.path), "reproduce", "nope")
    assert out.returncode == 2 and "no branch, tag or commit named 'nope'" in out.stderr


LOADED = """
import sys, runpy
sys.argv = {argv!r}
try:
    runpy.run_module("mlvc_tui.cli.main", run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
print(sorted(m for m in ("pandas", "textual", "numpy", "fsspec") if m in sys.modules))
"""


@pytest.mark.parametrize(
    "command",
    [
        ["grid"],
        ["cp", "prod:models/model.pkl", "{tmp}/m.pkl"],
        ["cp", "{tmp}/m.bin", "exp/x:models/"],
    ],
)
def test_commands_import_no_pandas_fsspec_or_textual(
    repo: GitRepo, tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "m.bin").write_bytes(b"m")
    argv = ["mlvc", "-C", str(repo.path), *(c.format(tmp=tmp_path) for c in command)]
    out = subprocess.run(
        [sys.executable, "-c", LOADED.format(argv=argv)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
