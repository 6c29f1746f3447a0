"""clone, fetch and push against real servers, cross-checked with the git CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mlvc_tui.engine import Registry
from tests.support.gitrepo import GitRepo, run_git
from tests.support.promote import base_registry, branch, metrics, mlvc, refs, run_env


def _ls_remote(url: str, env: dict[str, str] | None = None) -> dict[str, str]:
    out = run_git("ls-remote", url, env=env)
    return {line.split()[1]: line.split()[0] for line in out.splitlines()}


@pytest.fixture
def seeded(http_server, tmp_path: Path, request: pytest.FixtureRequest):
    """A registry pushed to a fresh repository on the HTTP server: (work repo, url)."""
    r = base_registry(tmp_path / "seed")
    branch(r, "exp/better", {"models/model.pkl": b"model-2", "metrics/model.json": metrics(0.85)})
    bare = http_server.new_repo(f"{request.node.name}.git")
    url = http_server.url(bare.name, "trainer1")
    run_git("push", "-q", url, "prod", "exp/better", cwd=r.path)
    return r, url, bare


def test_clone_reads_prod_from_the_remote(seeded, tmp_path: Path) -> None:
    _, url, _bare = seeded
    out = mlvc("clone", "--json", "-q", url, str(tmp_path / "c"))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert sorted(doc["branches"]) == ["exp/better", "prod"]
    assert "s3cret" not in out.stdout
    with Registry.open(tmp_path / "c") as reg:
        assert reg.prod == "prod" and reg.remote_only("prod")
        rows = {b.name: b for b in reg.branches()}
        assert rows["exp/better"].remote_only and rows["prod"].kind.value == "prod"
        assert reg.grid().prod == "prod"
    grid = json.loads(mlvc("-C", str(tmp_path / "c"), "grid", "--json").stdout)
    statuses = {
        row["branch"]["name"]: {a["status"] for a in row["artifacts"].values()}
        for row in grid["branches"]
    }
    assert statuses["prod"] == {"same"}
    assert grid["branches"][0]["branch"]["upstream_id"] == _ls_remote(url)["refs/heads/prod"]


def test_fetch_reports_moves_prunes_and_push_refuses_non_fast_forward(
    seeded, tmp_path: Path
) -> None:
    r, url, _ = seeded
    run_git("clone", "-q", url, str(tmp_path / "a"))
    a = GitRepo.existing(tmp_path / "a")
    branch(r, "exp/new", {"params.yaml": "target: churned\nlr: 0.2\n"})
    run_git("push", "-q", url, "exp/new", ":exp/better", cwd=r.path)
    out = mlvc("-C", str(a.path), "fetch", "--json", "-q")
    assert out.returncode == 0, out.stderr
    moved = {m["name"]: (m["old"], m["new"]) for m in json.loads(out.stdout)["branches"]}
    assert moved["exp/new"][0] is None and moved["exp/better"][1] is None
    assert "refs/remotes/origin/exp/better" not in refs(a)
    assert mlvc("-C", str(a.path), "fetch", "-q").stdout.strip() == "origin: up to date"
    # a local commit on prod pushes; then the seed's diverging commit is refused
    a.git("config", "user.name", "Ana Ruiz")
    a.commit("tweak", {"params.yaml": "target: churned\nlr: 0.3\n"})
    out = mlvc("-C", str(a.path), "push", "--json", "-q", "origin", "prod")
    assert out.returncode == 0, out.stderr
    assert _ls_remote(url)["refs/heads/prod"] == a.rev("prod")
    with Registry.open(a.path) as reg:
        row = next(b for b in reg.branches() if b.name == "prod")
        assert (row.ahead, row.behind) == (0, 0)
    r.commit("diverge", {"params.yaml": "target: churned\nlr: 0.9\n"})
    run_git("remote", "add", "origin", url, cwd=r.path)
    before = refs(r)
    out = mlvc("-C", str(r.path), "push", "-q", "prod")
    assert out.returncode == 1
    assert "has commits this clone lacks" in out.stderr and len(out.stderr.splitlines()) == 1
    assert refs(r) == before and _ls_remote(url)["refs/heads/prod"] == a.rev("prod")
    mlvc("-C", str(r.path), "fetch", "-q")
    with Registry.open(r.path) as reg:
        row = next(b for b in reg.branches() if b.name == "prod")
        assert (row.ahead, row.behind) == (1, 1) and row.upstream == "origin/prod"
    out = json.loads(mlvc("-C", str(r.path), "branches", "--json").stdout)
    prod = next(b for b in out["branches"] if b["name"] == "prod")
    assert (prod["ahead"], prod["behind"], prod["upstream_id"]) == (1, 1, a.rev("prod"))


@pytest.mark.parametrize("kind", ["git", "ssh"])
def test_clone_and_push_over_git_and_ssh(kind, request, tmp_path: Path) -> None:
    server = request.getfixturevalue("daemon_server" if kind == "git" else "ssh_server")
    r = base_registry(tmp_path / "seed")
    bare = server.new_repo(f"sync-{kind}.git")
    env = server.env("trainer1")
    url = server.url(bare.name)
    run_git("push", "-q", url, "prod", cwd=r.path, env=env)
    out = mlvc("clone", "-q", url, str(tmp_path / "c"), env=run_env(**env))
    assert out.returncode == 0, out.stderr
    c = GitRepo.existing(tmp_path / "c")
    c.git("checkout", "-q", "-b", "exp/x", "origin/prod")
    c.commit("x", {"params.yaml": "target: churned\nlr: 0.5\n"})
    out = mlvc("-C", str(c.path), "push", "-q", "origin", "exp/x", env=run_env(**env))
    assert out.returncode == 0, out.stderr
    assert _ls_remote(url, env)["refs/heads/exp/x"] == c.rev("exp/x")
    run_git("fsck", "--strict", cwd=bare)


def test_wrong_url_failed_login_stopped_server_change_nothing(
    seeded, http_server, tmp_path: Path
) -> None:
    from tests.support import servers

    _, url, bare = seeded
    bad_login = url.replace("trainer1:s3cret", "trainer1:nope")
    out = mlvc("clone", "-q", bad_login, str(tmp_path / "c1"))
    assert out.returncode == 2 and "login failed" in out.stderr, out.stderr
    assert "nope" not in out.stderr and len(out.stderr.splitlines()) == 1
    assert not (tmp_path / "c1").exists()
    out = mlvc("clone", "-q", url.replace(bare.name, "missing.git"), str(tmp_path / "c2"))
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1, out.stderr
    assert not (tmp_path / "c2").exists()
    run_git("clone", "-q", url, str(tmp_path / "a"))
    a = GitRepo.existing(tmp_path / "a")
    dead = f"http://127.0.0.1:{servers.free_port()}/git/{bare.name}"
    a.git("remote", "set-url", "origin", dead)
    before = refs(a)
    for args in (("fetch",), ("push", "origin", "prod")):
        out = mlvc("-C", str(a.path), *args, "-q")
        assert out.returncode == 2 and "cannot connect" in out.stderr, out.stderr
        assert len(out.stderr.splitlines()) == 1
    assert refs(a) == before


def test_three_training_boxes_push_experiments_at_once(seeded, tmp_path: Path) -> None:
    from tests.support.promote import MLVC

    _, url, bare = seeded
    boxes = []
    for i in range(3):
        assert mlvc("clone", "-q", url, str(tmp_path / f"box{i}")).returncode == 0
        box = GitRepo.existing(tmp_path / f"box{i}")
        box.git("checkout", "-q", "-b", f"exp/box{i}", "origin/prod")
        box.clock += i
        box.commit(f"train on box {i}", {"metrics/model.json": metrics(0.8 + i / 50)})
        boxes.append(box)
    procs = [
        subprocess.Popen(
            [MLVC, "-C", str(b.path), "push", "--json", "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=run_env(),
        )
        for b in boxes
    ]
    for p in procs:
        assert p.wait(60) == 0, p.communicate()
    server = _ls_remote(url)
    for i, box in enumerate(boxes):
        assert server[f"refs/heads/exp/box{i}"] == box.rev(f"exp/box{i}")
    run_git("fsck", "--strict", cwd=bare)
    out = json.loads(mlvc("-C", str(boxes[0].path), "fetch", "--json", "-q").stdout)
    assert {m["name"] for m in out["branches"]} == {"exp/box1", "exp/box2"}
