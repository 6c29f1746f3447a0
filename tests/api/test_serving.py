"""Serving from a URL: `load_model("models:/model@prod", registry=URL)` against a real server
(git http-backend and giftless on one origin, basic auth): one ref fetched shallow, one LFS
object, sha256 checked; a warm load downloads nothing; hot swap; versions; a local path
registry; wrong credentials; a full cache disk."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlvc_tui as mlvc
from mlvc_tui.engine.errors import RefNotFound, Refused
from mlvc_tui.engine.serving import CacheFull, ModelWatcher
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


def test_cold_then_warm_load_from_a_url(lfs_server: LfsServer, published: Published) -> None:
    url = lfs_server.git_url(auth=AUTH)
    model = mlvc.load_model("models:/model@prod", registry=url)
    assert model == {"weights": list(range(1000)), "version": 1}
    found = mlvc.resolve("models:/model@prod", registry=url)
    assert (found.fetched, found.downloaded) == (False, False)  # prod unchanged: no download
    assert found.ref == "refs/heads/prod" and found.commit == published.train.rev("prod")
    assert found.lfs_oid == found.sha256 and found.storage == "lfs"
    assert "s3cret" not in found.registry
    data = Path(found.local_path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == found.sha256
    refs = subprocess.run(
        ["git", "-C", found.cache, "for-each-ref", "--format=%(refname)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert refs == ["refs/remotes/origin/prod"]  # only the one ref came
    assert (Path(found.cache) / "shallow").exists()  # depth 1: no history


def test_a_version_and_the_path_ref_form(lfs_server: LfsServer, published: Published) -> None:
    url = lfs_server.git_url(auth=AUTH)
    found = mlvc.resolve("models:/model/1.0.0", registry=url)
    assert (found.ref, found.version) == ("refs/tags/model@v1.0.0", "1.0.0")
    assert mlvc.load_model("models/model.pkl", ref="prod", registry=url)["version"] == 1
    with pytest.raises(RefNotFound, match=r"no version model@v9\.0\.0"):
        mlvc.resolve("models:/model/9.0.0", registry=url)
    with pytest.raises(RefNotFound, match="no branch staging"):
        mlvc.resolve("models:/model@staging", registry=url)


def test_a_local_path_registry_and_local_uris(published: Published) -> None:
    path = published.train.path
    assert mlvc.load_model("models:/model@prod", registry=path)["version"] == 1
    assert mlvc.load_model("models:/model/v1.0.0", repo=path)["version"] == 1


def test_wrong_credentials(lfs_server: LfsServer, published: Published) -> None:
    with pytest.raises(Refused, match="refused the credentials"):
        mlvc.load_model("models:/model@prod", registry=lfs_server.git_url(auth="ana:nope"))


def test_hot_swap_hands_back_the_new_model(
    lfs_server: LfsServer, published: Published, tmp_path: Path
) -> None:
    url = lfs_server.git_url(auth=AUTH)
    watcher = ModelWatcher("models:/model@prod", url, interval=0.1)
    first = watcher.model
    assert watcher.poll() is None
    published.save({"weights": [1, 2, 3], "version": 2})
    assert watcher.poll() == {"weights": [1, 2, 3], "version": 2}
    assert watcher.resolved.commit == published.train.rev("prod") and first != watcher.model


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_cache_disk_is_a_clear_error_and_keeps_nothing_partial(
    lfs_server: LfsServer, published: Published, tiny_disk: Path, tmp_path: Path
) -> None:
    big = published.save({"blob": bytes(range(256)) * 4096, "version": 3})  # ~1 MB
    url = lfs_server.git_url(auth=AUTH)
    with pytest.raises(CacheFull, match="out of disk space"):
        mlvc.load_model("models:/model@prod", registry=url, cache=tiny_disk)
    partial = [p for p in tiny_disk.rglob("*") if p.is_file() and big.sha256[:12] in p.name]
    assert partial == []
    assert not list(tiny_disk.rglob(big.sha256))
    model = mlvc.load_model("models:/model@prod", registry=url, cache=tmp_path / "roomy")
    assert model["version"] == 3


def test_a_folder_model_from_a_url(
    lfs_server: LfsServer, published: Published, tmp_path: Path
) -> None:
    from mlvc_tui.engine.folder_models import FolderModel
    from mlvc_tui.engine.git.lfs_push import upload_for_push
    from mlvc_tui.engine.registry import Registry

    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(bytes(range(256)) * 8192)  # 2 MB: LFS
    (folder / "config.json").write_text("{}")
    train = published.train
    mlvc.save_model(folder, "models/bert", repo=train.path, branch="staging", start="prod")
    with Registry.open(train.path) as reg:
        train.git("remote", "add", "pub", lfs_server.git_url(auth=AUTH))
        upload_for_push(reg, "pub", [train.rev("staging")])
    train.git("push", "-q", str(published.bare), "staging")
    loaded = mlvc.load_model("models:/bert@staging", registry=lfs_server.git_url(auth=AUTH))
    assert isinstance(loaded, FolderModel)
    assert (loaded.path / "weights.bin").read_bytes() == (folder / "weights.bin").read_bytes()
    found = mlvc.resolve("models:/bert@staging", registry=lfs_server.git_url(auth=AUTH))
    assert found.storage == "directory" and Path(found.local_path).is_dir()
