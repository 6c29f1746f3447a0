"""`mlvc pull-model URI --registry URL [--json]` and `mlvc cp models:/...` against a real
server (git http-backend + giftless on one origin)."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest

from mlvc_tui.cli import main
from tests.support.lfs_server import (
    AUTH,
    LfsServer,
    Published,
    giftless_available,
)

pytestmark = [
    pytest.mark.skipif(not giftless_available(), reason="giftless is not installed"),
    pytest.mark.usefixtures("fresh_model_cache"),
]


def test_pull_model_json_says_what_it_resolved(
    lfs_server: LfsServer, published: Published, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = lfs_server.git_url(auth=AUTH)
    dest = tmp_path / "serve"
    dest.mkdir()
    assert main(["pull-model", "models:/model@prod", "--registry", url, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["ref"] == "refs/heads/prod" and first["commit"] == published.train.rev("prod")
    assert first["downloaded"] is True and first["lfs_oid"] == first["sha256"]
    assert str(tmp_path / "cache" / "mlvc") in first["local_path"]
    assert "s3cret" not in json.dumps(first)
    args = ["pull-model", "models:/model/1.0.0", "--registry", url, "--dest", str(dest)]
    assert main([*args, "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["version"], second["downloaded"]) == ("1.0.0", False)
    data = (dest / "model.pkl").read_bytes()
    assert hashlib.sha256(data).hexdigest() == second["sha256"]
    assert main(["pull-model", "models:/model@prod", "--registry", url]) == 0
    out = capsys.readouterr().out
    assert "refs/heads/prod" in out and "cached, unchanged" in out


def test_pull_model_refusals(
    lfs_server: LfsServer, published: Published, capsys: pytest.CaptureFixture[str]
) -> None:
    url = lfs_server.git_url(auth=AUTH)
    assert main(["pull-model", "models:/model@nope", "--registry", url]) == 2
    assert "no branch nope" in capsys.readouterr().err
    assert main(["pull-model", "models:/model", "--registry", url]) == 2
    assert "models:/<name>@<env>" in capsys.readouterr().err
    bad = lfs_server.git_url(auth="ana:wrong")
    assert main(["pull-model", "models:/model@prod", "--registry", bad]) == 1
    err = capsys.readouterr().err
    assert "refused the credentials" in err and "wrong" not in err


def test_cp_copies_a_model_uri(
    lfs_server: LfsServer, published: Published, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = lfs_server.git_url(auth=AUTH)
    out = tmp_path / "m.pkl"
    assert main(["cp", "models:/model@prod", str(out), "--registry", url]) == 0
    assert pickle.loads(out.read_bytes())["version"] == 1
    local = tmp_path / "local.pkl"
    assert main(["-C", str(published.train.path), "cp", "models:/model/1.0.0", str(local)]) == 0
    assert local.read_bytes() == out.read_bytes()
    capsys.readouterr()


def test_fsspec_opens_a_model_uri(lfs_server: LfsServer, published: Published) -> None:
    import fsspec

    url = lfs_server.git_url(auth=AUTH)
    with fsspec.open("mlvc://models:/model@prod", "rb", repo=url) as fh:
        assert pickle.load(fh)["version"] == 1
    with fsspec.open("mlvc://models:/model/v1.0.0", "rb", repo=str(published.train.path)) as fh:
        assert pickle.load(fh)["version"] == 1
