"""Models through the API: every format round-trips, lineage records, tamper detection, tags."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import mlvc_tui as mlvc
from mlvc_tui.engine import BadInput
from tests.support.gitrepo import GitRepo, use_git_identity

MODEL = {"weights": [0.5, -1.25], "bias": 0.1, "features": ["age", "tenure"]}


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "reg")
    r.commit(
        "first",
        {
            "src/train.py": "print('train')\n",
            "data/train.csv": "a,b\n1,2\n",
            "README.md": "registry\n",
        },
    )
    r.git("branch", "exp/a")
    return r


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    use_git_identity(monkeypatch)


def _sklearn_model() -> object:
    np = pytest.importorskip("numpy")
    linear = pytest.importorskip("sklearn.linear_model")
    return linear.LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("models/model.pkl", "pickle"),
        ("models/model.joblib", "joblib"),
        ("models/model.skops", "skops"),
        ("models/model.bin", "raw"),
    ],
)
def test_every_format_round_trips(repo: GitRepo, path: str, fmt: str) -> None:
    if fmt in ("joblib", "skops"):
        pytest.importorskip(fmt)
        model: object = _sklearn_model()
    else:
        model = MODEL if fmt == "pickle" else b"\x00raw model bytes\xff" * 1000
    saved = mlvc.save_model(model, path, repo=repo.path, branch="exp/a")
    assert saved.format == fmt and saved.branch == "exp/a"
    back = mlvc.load_model(path, repo=repo.path, ref="exp/a")
    if fmt in ("joblib", "skops"):
        assert type(back) is type(model) and back.predict([[2.5]]).tolist() == [1]
    else:
        assert back == model
    assert repo.git("fsck", "--strict", "--no-dangling") == ""


def test_raw_takes_files_and_paths(repo: GitRepo, tmp_path: Path) -> None:
    local = tmp_path / "model.onnx"
    local.write_bytes(b"onnx" * 5000)
    with mlvc.open(repo.path) as reg:
        reg.save_model(local, "models/model.onnx", branch="exp/a")
        assert reg.load_model("models/model.onnx", ref="exp/a") == local.read_bytes()
        reg.save_model(io.BytesIO(b"from a stream"), "models/model.onnx", branch="exp/a")
        assert reg.load_model("models/model.onnx", ref="exp/a") == b"from a stream"
        with pytest.raises(BadInput, match="raw format takes bytes"):
            reg.save_model(3.14, "models/x.bin", branch="exp/a", format="raw")


def test_one_commit_with_metrics_and_the_lineage_record(repo: GitRepo) -> None:
    code = repo.rev("exp/a")
    saved = mlvc.save_model(
        MODEL,
        "models/model.pkl",
        repo=repo.path,
        branch="exp/a",
        message="Train v1",
        metrics={"accuracy": 0.91, "latency_ms": {"p50": 1.5}},
        params={"lr": 0.1},
        data=["data/train.csv"],
        command="python src/train.py",
    )
    assert repo.git("log", "--format=%s", "exp/a").split("\n")[:2] == ["Train v1", "first"]
    assert sorted(repo.git("diff", "--name-only", "exp/a^", "exp/a").split()) == [
        "metrics/model.json",
        "models/model.lineage.json",
        "models/model.pkl",
    ]
    record = json.loads(repo.git("show", "exp/a:models/model.lineage.json"))
    blob = subprocess.run(
        ["git", "show", "exp/a:models/model.pkl"], cwd=repo.path, capture_output=True, check=True
    ).stdout
    assert record["sha256"] == hashlib.sha256(blob).hexdigest() == saved.sha256
    assert record["size"] == len(blob) and record["format"] == "pickle"
    assert record["code_commit"] == code
    assert record["data"] == {"data/train.csv": repo.rev("exp/a:data/train.csv")}
    assert record["params"] == {"lr": 0.1} and record["metrics"]["accuracy"] == 0.91
    assert record["command"] == "python src/train.py" and record["python"].startswith("3.")
    assert {"user", "time", "packages", "path"} <= record.keys()
    with mlvc.open(repo.path) as reg:
        assert reg.metrics("exp/a").values == {"accuracy": 0.91, "latency_ms.p50": 1.5}
        assert reg.lineage("model", "exp/a").record.fields["sha256"] == saved.sha256


def _tamper(repo: GitRepo, files: dict[str, bytes | str | None]) -> None:
    repo.checkout("exp/a")
    repo.commit("tamper", files)
    repo.checkout("prod")


def test_tampered_bytes_are_refused(repo: GitRepo) -> None:
    mlvc.save_model(MODEL, "models/model.pkl", repo=repo.path, branch="exp/a")
    evil = pickle.dumps({"weights": "replaced"})
    _tamper(repo, {"models/model.pkl": evil})
    with pytest.raises(mlvc.ModelIntegrityError, match="does not match its lineage record"):
        mlvc.load_model("models/model.pkl", repo=repo.path, ref="exp/a")
    assert mlvc.load_model("models/model.pkl", repo=repo.path, ref="exp/a", trust=True) == {
        "weights": "replaced"
    }


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (None, "has no lineage record"),
        ("{not json", "is not valid JSON"),
        ('{"size": 3}', "has no sha256"),
        ('{"sha256": "ab", "path": "models/other.pkl"}', "describes models/other.pkl"),
    ],
)
def test_a_missing_or_broken_record_is_refused(
    repo: GitRepo, record: str | None, message: str
) -> None:
    mlvc.save_model(MODEL, "models/model.pkl", repo=repo.path, branch="exp/a")
    _tamper(repo, {"models/model.lineage.json": record})
    with pytest.raises(mlvc.ModelIntegrityError, match=message):
        mlvc.load_model("models/model.pkl", repo=repo.path, ref="exp/a")


def test_loading_never_unpickles_before_the_check(repo: GitRepo, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(marker),))  # type: ignore[return-value]

    mlvc.save_model(MODEL, "models/model.pkl", repo=repo.path, branch="exp/a")
    _tamper(repo, {"models/model.pkl": pickle.dumps(Boom())})
    with pytest.raises(mlvc.ModelIntegrityError):
        mlvc.load_model("models/model.pkl", repo=repo.path, ref="exp/a")
    assert not marker.exists()


def test_version_tags_and_fetch(repo: GitRepo, tmp_path: Path) -> None:
    mlvc.save_model({"v": 1}, "models/model.pkl", repo=repo.path, branch="exp/a")
    repo.git("tag", "-a", "model@v1.0.0", "-m", "v1", "exp/a")
    mlvc.save_model({"v": 2}, "models/model.pkl", repo=repo.path, branch="exp/a")
    with mlvc.open(repo.path) as reg:
        assert reg.load_model("models/model.pkl", ref="model@v1.0.0") == {"v": 1}
        assert reg.load_model("models/model.pkl", ref="v1.0.0") == {"v": 1}
        assert reg.load_model(ref="exp/a") == {"v": 2}  # the branch's model by default
        dest = reg.fetch_model(tmp_path / "served.pkl", "models/model.pkl", ref="v1.0.0")
        assert pickle.loads(dest.read_bytes()) == {"v": 1}
        with pytest.raises(BadInput, match=r"no branch, tag or commit named 'v9\.0\.0'"):
            reg.load_model("models/model.pkl", ref="v9.0.0")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"branch": "exp/new", "start": "nowhere"}, "no branch, tag or commit named"),
        ({"branch": "exp/a", "format": "onnx"}, "unknown model format 'onnx'"),
        ({"branch": "exp/a", "metrics": [0.9]}, "metrics must be a mapping"),
        ({"branch": "exp/a", "data": ["nowhere.csv"]}, "neither a path on the branch"),
        ({"branch": "exp/a", "metrics": {"x": object()}}, "cannot be written as JSON"),
    ],
)
def test_refused_saves_change_nothing(repo: GitRepo, kwargs: dict, message: str) -> None:
    refs = repo.git("for-each-ref")
    with pytest.raises(BadInput, match=message):
        mlvc.save_model(MODEL, "models/model.pkl", repo=repo.path, **kwargs)
    assert repo.git("for-each-ref") == refs


def test_import_mlvc_tui_stays_light() -> None:
    code = (
        "import sys, mlvc_tui; mlvc_tui.__version__; "
        "print(sorted(m for m in ('pandas', 'fsspec', 'textual', 'dulwich', 'mlvc_tui.api')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    code = "import sys, mlvc_tui; mlvc_tui.open; print('fsspec' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # the API itself needs no fsspec either
