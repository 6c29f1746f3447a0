"""Shared fixtures for the TUI tests: real registries, frozen time, snapshots in `snapshots/`.

Snapshots are written to `<repo>/snapshots/<test module>/<test>.svg` (not the plugin's
default `tests/__snapshots__/`): `SnapshotsDir` below is rebound on the plugin module.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import pytest_textual_snapshot
from textual.widgets import Input

from mlvc_tui.engine.demo.build import build_demo
from tests.support.gitrepo import GitRepo
from tests.support.promote import copy_registry, two_candidates

REPO = Path(__file__).resolve().parents[1]


class SnapshotsDir(pytest_textual_snapshot.SVGImageExtension):
    """The plugin's SVG extension, storing under `<repo>/snapshots/<test module>/`."""

    @classmethod
    def dirname(cls, *, test_location) -> str:  # type: ignore[no-untyped-def]
        return str(REPO / "snapshots" / test_location.basename)


pytest_textual_snapshot.SVGImageExtension = SnapshotsDir  # type: ignore[misc]


@pytest.fixture(autouse=True)
def _frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freeze what changes with time: the input cursor stays lit, colours stay as set."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL", raising=False)
    monkeypatch.setenv("MLVC_WATCH", "off")  # no live watcher unless a test asks (test_live*)


@pytest.fixture(scope="session")
def test_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every session repository lives in; HOME for snapshots (paths print as ~)."""
    return tmp_path_factory.mktemp("home", numbered=False)


@pytest.fixture
def as_home(test_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME points at `test_home`, so the status bar shows stable `~/...` paths."""
    monkeypatch.setenv("HOME", str(test_home))
    return test_home


@pytest.fixture(scope="session")
def demo_repo(test_home: Path) -> Path:
    """The demo registry (seed 7, with an uncommitted change to logs/train.log)."""
    return build_demo(test_home / "demo", seed=7)


def build_hostile_repo(path: Path) -> Path:
    """A registry whose names, paths and messages carry markup, escapes and unicode."""
    g = GitRepo(path)
    g.commit(
        "Initial model",
        {
            "models/model.pkl": b"model-v1",
            "models/my model [red]x[/red].pkl": b"odd name",
            "metrics/model.json": {"accuracy": 0.8, "loss": 0.5},
            "logs/train.log": "epoch 1 [bold]loss[/bold] 0.5\n",
        },
    )
    g.clock += 3600
    g.write(
        {"models/model.pkl": b"model-v2", "metrics/model.json": {"accuracy": 0.82, "loss": 0.45}}
    )
    g.git("add", "-A")
    g.git(
        "commit",
        "-q",
        "--cleanup=verbatim",
        "-m",
        "Retrain \x1b[31mred alert\x1b[0m\x07 [bold]not bold[/bold]",
    )
    g.checkout("exp/ünïcødé-🚀", new=True)
    g.commit(
        "Unicode branch: bigger model",
        {
            "models/model.pkl": b"model-v3-unicode",
            "metrics/model.json": {"accuracy": 0.85, "loss": 0.4},
        },
    )
    g.checkout("prod")
    g.checkout("exp/corrupt", new=True)
    g.commit("Corrupt metrics", {"metrics/model.json": "{not json"})
    g.checkout("prod")
    g.checkout("exp/nan", new=True)
    g.commit("NaN accuracy", {"metrics/model.json": '{"accuracy": NaN, "loss": 0.4}'})
    g.checkout("prod")
    # git refuses "[" in ref names (and dulwich skips such refs), so the markup rides on
    # the paths and messages of a branch instead
    g.checkout("exp/markup", new=True)
    g.commit(
        "[bold]markup[/bold] [link=http://x]click[/link] :smile:",
        {
            "models/[bold]markup[/bold].pkl": b"markup",
        },
    )
    g.checkout("prod")
    return path


ONNX = b"onnx model bytes " * 4096  # what git-lfs would check out for the pointer below
_LFS = (
    "version https://git-lfs.github.com/spec/v1\n"
    f"oid sha256:{hashlib.sha256(ONNX).hexdigest()}\nsize {len(ONNX)}\n"
)


def _metrics(accuracy: float, f1: float, loss: float, latency: float) -> dict[str, object]:
    return {"accuracy": accuracy, "f1": f1, "loss": loss, "latency_ms": {"p50": latency}}


def build_showcase_repo(path: Path) -> Path:
    """A small, realistic registry that only this file changes, for stable snapshots.

    prod ← staging ← dev (checked out, train.log edited), exp/feature-eng (new data file),
    exp/lr-sweep (drift log removed), ab/test-a (A/B results); an LFS model and a data
    submodule on every branch.
    """
    g = GitRepo(path)
    g.commit(
        "Initial churn model: training script, params, data",
        {
            "mlvc.toml": '[registry]\nprod = "prod"\n\n[metrics]\nprimary = "accuracy"\n',
            ".gitattributes": "models/*.onnx filter=lfs diff=lfs merge=lfs -text\n",
            "src/train.py": "print('train')\n",
            "params.yaml": "lr: 0.1\nepochs: 20\n",
            "models/model.pkl": b"model-v1",
            "models/model.onnx": _LFS,
            "metrics/model.json": _metrics(0.812, 0.701, 0.412, 3.1),
            "logs/train.log": "epoch 20 loss 0.412\n",
            "data/train.csv": "x,y\n1,0\n",
            "monitoring/drift.csv": "timestamp,feature,metric,value,threshold\n",
        },
    )
    reference = GitRepo(path / "data" / "reference", branch="main")
    reference.commit("Reference data v1", {"regions.csv": "code,name\neu,Europe\n"})
    g.commit("data: pin the reference data repository", {})
    g.checkout("staging", new=True)
    g.commit(
        "Retrain on September data",
        {
            "models/model.pkl": b"model-v2",
            "metrics/model.json": _metrics(0.821, 0.713, 0.401, 3.0),
        },
    )
    g.checkout("dev", new=True)
    g.commit(
        "params: weaker L2, 400 epochs",
        {
            "params.yaml": "lr: 0.1\nepochs: 400\n",
            "models/model.pkl": b"model-v3",
            "metrics/model.json": _metrics(0.834, 0.722, 0.388, 3.3),
            "logs/train.log": "epoch 400 loss 0.388\n",
        },
    )
    g.checkout("prod")
    g.checkout("exp/feature-eng", new=True)
    g.commit(
        "features: days since last login",
        {
            "data/features.csv": "id,days\n1,3\n",
            "models/model.pkl": b"model-fe",
            "metrics/model.json": _metrics(0.829, 0.731, 0.392, 3.6),
        },
    )
    g.checkout("prod")
    g.checkout("exp/lr-sweep", new=True)
    g.commit(
        "Sweep lr 0.3: diverged, drift log dropped",
        {
            "models/model.pkl": b"model-lr",
            "monitoring/drift.csv": None,
            "metrics/model.json": _metrics(0.744, 0.612, 0.553, 3.1),
        },
    )
    g.checkout("prod")
    g.checkout("ab/test-a", new=True)
    g.commit(
        "A/B: results of arm a",
        {
            "monitoring/experiments/results.csv": "day,conversions\n1,10\n",
        },
    )
    g.checkout("dev")
    g.write(
        {
            "logs/train.log": "epoch 400 loss 0.388\nepoch 401 loss 0.387\n",
            "models/model.onnx": ONNX,
        }
    )  # smudged as git-lfs would
    shutil.rmtree(path / "data" / "reference")  # a submodule not checked out, as after a clone
    return path


@pytest.fixture(scope="session")
def showcase_repo(test_home: Path) -> Path:
    """`build_showcase_repo`, built once; tests must not change it."""
    return build_showcase_repo(test_home / "showcase")


@pytest.fixture(scope="session")
def hostile_repo(test_home: Path) -> Path:
    """`build_hostile_repo`, built once; tests must not change it."""
    return build_hostile_repo(test_home / "hostile")


@pytest.fixture(scope="session")
def candidates_template(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """The two-candidates registry (tests/support/promote.py), built once: never write to it."""
    return two_candidates(tmp_path_factory.mktemp("candidates") / "reg")


@pytest.fixture
def candidates(candidates_template: GitRepo, tmp_path: Path) -> GitRepo:
    """A fresh copy of the two-candidates registry, free to change."""
    return copy_registry(candidates_template, tmp_path / "reg")


@pytest.fixture
def small_repo(tmp_path: Path) -> GitRepo:
    """A small registry of this test's own (prod, dev, exp/a), free to change."""
    g = GitRepo(tmp_path / "small")
    g.commit("Initial model", {"models/model.pkl": b"v1", "metrics/model.json": {"accuracy": 0.8}})
    g.checkout("dev", new=True)
    g.commit("Dev model", {"models/model.pkl": b"v2", "metrics/model.json": {"accuracy": 0.83}})
    g.checkout("exp/a", new=True)
    g.commit("Experiment a", {"metrics/model.json": {"accuracy": 0.79}})
    g.checkout("prod")
    return g


# Real git servers on 127.0.0.1 (tests/support/servers.py); one of each per session,
# a fresh bare repository per test via `server.new_repo(name)`.


def _server(tmp_path_factory: pytest.TempPathFactory, kind: str, needs: tuple[str, ...]):
    from tests.support import servers

    if not servers.have(*needs):
        pytest.skip(f"needs {', '.join(needs)} (see .ci/apt-packages)")
    root = tmp_path_factory.mktemp(f"srv-{kind}") / "repos"
    start = {"http": servers.start_http, "git": servers.start_daemon, "ssh": servers.start_sshd}
    return start[kind](root)


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory):
    """lighttpd + git http-backend with basic auth (users trainer1, trainer2, alice)."""
    server = _server(tmp_path_factory, "http", ("lighttpd", "htpasswd"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def daemon_server(tmp_path_factory: pytest.TempPathFactory):
    """`git daemon` over git://, receive-pack enabled."""
    server = _server(tmp_path_factory, "git", ("git",))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory):
    """sshd on a loopback port; keys for trainer1, trainer2, alice (REMOTE_USER set)."""
    server = _server(tmp_path_factory, "ssh", ("/usr/sbin/sshd", "ssh-keygen", "ssh"))
    yield server
    server.stop()


# A registry published on git http-backend + giftless on one origin (basic auth):
# tests/support/lfs_server.py; one server per test module that asks for it.


@pytest.fixture(scope="module")
def lfs_server(tmp_path_factory: pytest.TempPathFactory):
    """git smart HTTP and giftless (Git LFS) on one origin, one per test module."""
    from tests.support.lfs_server import registry_server

    with registry_server(tmp_path_factory.mktemp("srv")) as srv:
        yield srv


@pytest.fixture(scope="module")
def published(lfs_server):
    """``lfs_server`` with prod holding models/model.pkl (in LFS), version 1.0.0."""
    from tests.support.lfs_server import Published

    return Published.with_prod_model(lfs_server)


@pytest.fixture
def fresh_model_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A model cache of this test's own (``XDG_CACHE_HOME``) and a fixed git identity."""
    from tests.support.gitrepo import use_git_identity

    use_git_identity(monkeypatch)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


# The registries the diff, drift and lineage views read (tests/support/views.py).


@pytest.fixture(scope="module")
def views_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with metrics history, lineage and a drift log on several branches."""
    from tests.support.views import build_views_repo

    return build_views_repo(tmp_path_factory.mktemp("views") / "repo")


@pytest.fixture(scope="module")
def hostile_views_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The views' registry with hostile names and contents (markup, escapes, huge values)."""
    from tests.support.views import build_hostile_views_repo

    return build_hostile_views_repo(tmp_path_factory.mktemp("hostile") / "repo")
