"""A small registry for promotion tests, built with the git CLI, and helpers to inspect it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.support.gitrepo import GitRepo

__all__ = [
    "MLVC",
    "base_registry",
    "branch",
    "copy_registry",
    "mlvc",
    "refs",
    "run_env",
    "wait_for",
]

MLVC = str(Path(sys.executable).with_name("mlvc"))

CHECK = """\
import pathlib, sys
print("loading models/model.pkl")
data = pathlib.Path("models/model.pkl").read_bytes()
if data.startswith(b"broken"):
    print("cannot load the model: it is broken")
    sys.exit(3)
if data.startswith(b"slow"):
    import time
    time.sleep(60)
print("predicted 10 rows: ok")
"""

TRAIN = "".join(f"step_{i} = {i}\n" for i in range(12))


def metrics(accuracy: float | str, eu: float = 0.8) -> str:
    return (
        json.dumps({"accuracy": accuracy, "slices": {"eu": {"accuracy": eu}}})
        if not isinstance(accuracy, str)
        else accuracy
    )


def toml(gates: str = "") -> str:
    return (
        '[registry]\nprod = "prod"\nmodel = "models/model.pkl"\n\n'
        f'[metrics]\nprimary = "accuracy"\n\n[gates]\n{gates}\n'
    )


def base_registry(path: Path, gates: str = "") -> GitRepo:
    """prod with a model, metrics, data schema, params, training code and a check script."""
    r = GitRepo(path)
    r.git("config", "user.name", "Ana Ruiz")
    r.git("config", "user.email", "ana@example.com")
    r.commit(
        "first model",
        {
            "mlvc.toml": toml(gates),
            "src/train.py": TRAIN,
            "src/check.py": CHECK,
            "params.yaml": "target: churned\nlr: 0.1\n",
            "data/schema.json": '{"v": 1}',
            "models/model.pkl": b"model-1",
            "metrics/model.json": metrics(0.8),
            "monitoring/drift.csv": "t,f,v\n1,a,0.1\n",
        },
    )
    return r


def branch(r: GitRepo, name: str, files: dict, start: str = "prod", message: str = "") -> str:
    """Create ``name`` from ``start`` with one commit of ``files``; back on prod after."""
    r.git("checkout", "-q", "-B", name, start)
    sha = r.commit(message or f"work on {name}", files)
    r.checkout("prod")
    return sha


def two_candidates(path: Path) -> GitRepo:
    """base_registry plus exp/better (accuracy 0.85) and exp/worse (0.7)."""
    r = base_registry(path)
    branch(r, "exp/better", {"models/model.pkl": b"model-2", "metrics/model.json": metrics(0.85)})
    branch(r, "exp/worse", {"models/model.pkl": b"model-3", "metrics/model.json": metrics(0.7)})
    return r


def copy_registry(src: GitRepo, dest: Path) -> GitRepo:
    shutil.copytree(src.path, dest, symlinks=True)
    return GitRepo.existing(dest)


def refs(r: GitRepo) -> str:
    """Every ref and the object it names (to compare before and after a refusal)."""
    return r.git("for-each-ref", "--format=%(refname) %(objectname)")


def objects(r: GitRepo) -> set[str]:
    """Every object id in the repository, reachable or not."""
    out = r.git("cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return set(out.split())


def run_env(**extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "GIT_AUTHOR_NAME": "Ben Okafor",
        "GIT_AUTHOR_EMAIL": "ben@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "TZ": "UTC",
    }
    env.update(extra)
    return env


def mlvc(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed `mlvc` in a subprocess (stdin not a terminal)."""
    return subprocess.run(
        [MLVC, *args],
        capture_output=True,
        text=True,
        env=env or run_env(),
        input=stdin or "",
        check=False,
    )


def wait_for(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
