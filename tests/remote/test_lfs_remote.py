"""Git LFS through the registry's own URL, as teams run it: lighttpd in front of
`git http-backend` with basic auth, and giftless proxied on the same origin. `mlvc push`
uploads every LFS object before any ref moves; `mlvc clone` stays lazy and a read fetches
the one object it needs; git-lfs reads what mlvc pushed."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlvc_tui as mlvc
from mlvc_tui.engine import Refused, Registry
from mlvc_tui.engine.remote.clone import clone
from mlvc_tui.engine.remote.sync import push
from tests.support import servers
from tests.support.gitrepo import GitRepo, git_env, use_git_identity
from tests.support.lfs_server import LfsServer, giftless_available

pytestmark = pytest.mark.skipif(
    not (giftless_available() and servers.have("lighttpd", "htpasswd", "git-lfs")),
    reason="needs giftless, lighttpd, htpasswd and git-lfs",
)
ATTRS = "models/*.pkl filter=lfs diff=lfs merge=lfs -text\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[servers.Server, LfsServer]]:
    root = tmp_path_factory.mktemp("site")
    lfs = LfsServer(root / "lfs", prefix="/git").start()
    http = servers.start_http(
        root / "repos",
        proxies=[servers.HttpProxy(r"^/git/.*\.git/info/lfs/", lfs.port)],
        open_regex=[r"^/git/.*\.git/info/lfs/objects/storage/"],
    )
    try:
        yield http, lfs
    finally:
        http.stop()
        lfs.stop()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    use_git_identity(monkeypatch)


LFS_FILTER = (
    "-c",
    "filter.lfs.process=git-lfs filter-process",
    "-c",
    "filter.lfs.required=true",
)  # what `git lfs install` puts in the global config (the tests' git ignores it)


def _git(*args: str, cwd: Path | None = None) -> str:
    env = {**git_env(), "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(
        ["git", *LFS_FILTER, *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


def _trainer(tmp_path: Path, url: str) -> GitRepo:
    repo = GitRepo(tmp_path / "train")
    repo.commit("first", {".gitattributes": ATTRS})
    repo.git("remote", "add", "origin", url)
    return repo


def test_push_uploads_first_clone_is_lazy_git_lfs_agrees(
    site: tuple[servers.Server, LfsServer], tmp_path: Path
) -> None:
    http, lfs = site
    http.new_repo("team/one.git")
    url = http.url("team/one.git", "trainer1")
    train = _trainer(tmp_path, url)
    payload = os.urandom(3 << 20)
    saved = mlvc.save_model(
        payload, "models/model.pkl", repo=train.path, branch="prod", format="raw"
    )
    with Registry.open(train.path) as reg:
        push(reg, ["prod"], "origin")
    assert lfs.object_path(saved.sha256, "team/one").read_bytes() == payload
    # another server gets the objects too, whatever the first one's tracking refs say
    http.new_repo("team/mirror.git")
    train.git("remote", "add", "mirror", http.url("team/mirror.git", "trainer1"))
    with Registry.open(train.path) as reg:
        push(reg, ["prod"], "mirror")
    assert lfs.object_path(saved.sha256, "team/mirror").read_bytes() == payload
    # the real git + git-lfs clone smudges identical bytes
    _git("clone", "-q", url, str(tmp_path / "gitclone"))
    assert (tmp_path / "gitclone" / "models/model.pkl").read_bytes() == payload
    # mlvc clone brings no LFS object; the read fetches exactly the one it needs
    clone(url, str(tmp_path / "c"))
    store = tmp_path / "c" / ".git" / "lfs" / "objects"
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))
    with mlvc.open(tmp_path / "c") as reg, reg.open("origin/prod", "models/model.pkl") as fh:
        assert fh.read() == payload
    assert mlvc.load_model("models:/model@prod", repo=tmp_path / "c", format="raw") == payload


def test_giftless_stopped_mid_push_nothing_half_pushed_then_retry(
    site: tuple[servers.Server, LfsServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLVC_LFS_RETRIES", "1")
    http, lfs = site
    http.new_repo("team/two.git")
    url = http.url("team/two.git", "trainer1")
    train = _trainer(tmp_path, url)
    first = mlvc.save_model(
        b"small", "models/model.pkl", repo=train.path, branch="prod", format="raw"
    )
    with Registry.open(train.path) as reg:
        push(reg, ["prod"], "origin")
    before = _git("ls-remote", url, "refs/heads/prod").split()[0]
    big = os.urandom(12 << 20)
    saved = mlvc.save_model(big, "models/model.pkl", repo=train.path, branch="prod", format="raw")

    def stop_halfway(text: str) -> None:
        if text.startswith("LFS: uploading") and "%" in text:
            pct = int(text.split()[3].rstrip("%"))
            if pct >= 50 and lfs.proc is not None:
                lfs.stop()

    try:
        with Registry.open(train.path) as reg, pytest.raises(Refused):
            push(reg, ["prod"], "origin", progress=stop_halfway)
        assert _git("ls-remote", url, "refs/heads/prod").split()[0] == before  # no ref moved
    finally:
        if lfs.proc is None:
            lfs.start()
    monkeypatch.delenv("MLVC_LFS_RETRIES")  # lighttpd answers 503 until it sees giftless back
    with Registry.open(train.path) as reg:
        push(reg, ["prod"], "origin")
    assert _git("ls-remote", url, "refs/heads/prod").split()[0] == train.rev("prod")
    _git("clone", "-q", url, str(tmp_path / "gitclone"))
    assert (tmp_path / "gitclone" / "models/model.pkl").read_bytes() == big
    assert first.sha256 != saved.sha256
