"""Promotion against a real server: one atomic push, races re-planned, the hook's rules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo, git_env
from tests.support.promote import (
    MLVC,
    base_registry,
    branch,
    metrics,
    mlvc,
    refs,
    run_env,
    wait_for,
)


def _git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(), check=check, capture_output=True, text=True
    )


def _ls_remote(url: str) -> dict[str, str]:
    out = _git("ls-remote", url).stdout
    return {line.split()[1]: line.split()[0] for line in out.splitlines()}


def _versions(url: str) -> list[str]:
    return sorted(r.split("@v")[1] for r in _ls_remote(url) if "@v" in r and "^{}" not in r)


@pytest.fixture
def served(http_server, tmp_path: Path, request: pytest.FixtureRequest):
    """A registry with four candidates on the HTTP server, the hook installed."""
    r = base_registry(tmp_path / "seed")
    for i in range(4):
        branch(
            r,
            f"exp/c{i}",
            {
                "models/model.pkl": f"model-c{i}".encode(),
                "metrics/model.json": metrics(0.81 + i / 100),
            },
        )
    bare = http_server.new_repo(f"{request.node.name[:40]}.git")
    url = http_server.url(bare.name, "trainer1")
    _git("push", "-q", url, "prod", "exp/c0", "exp/c1", "exp/c2", "exp/c3", cwd=r.path)
    out = mlvc("server", "install-hook", str(bare))
    assert out.returncode == 0, out.stderr
    return r, url, bare, http_server


def _as(user: str) -> dict[str, str]:
    """The environment of someone approving as the git identity ``user``."""
    return run_env(GIT_AUTHOR_NAME=user, GIT_AUTHOR_EMAIL=f"{user}@example.com")


def _clone(url: str, path: Path) -> GitRepo:
    out = mlvc("clone", "-q", url, str(path))
    assert out.returncode == 0, out.stderr
    return GitRepo.existing(path)


def test_remote_promotion_lands_once_and_the_next_one_replans(served, tmp_path: Path) -> None:
    _, url, bare, _ = served
    a = _clone(url, tmp_path / "a")
    b = _clone(url, tmp_path / "b")
    out = mlvc("-C", str(a.path), "promote", "exp/c1", "--yes", "--json")
    assert out.returncode == 0, out.stderr  # prod is remote-only: the write goes to the server
    doc = json.loads(out.stdout)
    assert doc["remote"] == "origin" and doc["tag_written"] == "model@v1.0.0"
    server = _ls_remote(url)
    assert server["refs/heads/prod"] == doc["new_commit"]
    assert "refs/tags/model@v1.0.0" in server
    assert server["refs/tags/model#prod#1^{}"] == doc["new_commit"]  # GTO's stage, in the push
    assert "refs/heads/prod" not in refs(a)  # no local prod was made
    # b has not fetched: its plan is made against the server's prod, not its stale view
    out = mlvc("-C", str(b.path), "promote", "exp/c3", "--yes", "--remote", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["tag_written"] == "model@v1.1.0"
    assert _versions(url) == ["1.0.0", "1.1.0"]
    server = _ls_remote(url)
    stage = sorted(
        (int(r.split("#")[-1].removesuffix("^{}")), r)
        for r in server
        if r.startswith("refs/tags/model#prod") and r.endswith("^{}")
    )
    assert [r.split("/")[-1] for _, r in stage] == [
        "model#prod#1^{}",
        "model#prod!#2^{}",
        "model#prod#3^{}",
    ]
    assert server[stage[-1][1]] == server["refs/heads/prod"]  # prod's stage moved with it
    _git("fsck", "--strict", cwd=bare)
    log = _git("log", "--first-parent", "--format=%s", "prod", cwd=bare).stdout
    assert log.count("Promote") + log.count("promot") >= 2


def test_four_boxes_promote_at_once(served, tmp_path: Path) -> None:
    _, url, bare, _ = served
    boxes = [_clone(url, tmp_path / f"box{i}") for i in range(4)]
    procs = [
        subprocess.Popen(
            [MLVC, "-C", str(box.path), "promote", f"exp/c{i}", "--yes", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=run_env(),
        )
        for i, box in enumerate(boxes)
    ]
    results = [(p.wait(120), *p.communicate()) for p in procs]
    landed = [json.loads(out) for code, out, _ in results if code == 0]
    refused = [err for code, _, err in results if code != 0]
    assert all(code in (0, 1) for code, _, _ in results), results
    assert len(landed) + len(refused) == 4 and landed
    for err in refused:
        assert len(err.strip().splitlines()) == 1, err
    versions = _versions(url)
    assert len(versions) == len(set(versions)) == len(landed)
    assert sorted(d["tag_written"] for d in landed) == sorted(f"model@v{v}" for v in versions)
    server = _ls_remote(url)
    chain = set(_git("rev-list", "--first-parent", "prod", cwd=bare).stdout.split())
    for v in versions:
        assert _git("rev-parse", f"model@v{v}^{{commit}}", cwd=bare).stdout.strip() in chain
    assert server["refs/heads/prod"] == landed[-1]["new_commit"] or len(landed) >= 1
    _git("fsck", "--strict", cwd=bare)


def test_a_client_killed_mid_push_leaves_the_server_consistent(served, tmp_path: Path) -> None:
    _, url, bare, _ = served
    a = _clone(url, tmp_path / "a")
    before = _ls_remote(url)
    marker = tmp_path / "pause"
    proc = subprocess.Popen(
        [MLVC, "-C", str(a.path), "promote", "exp/c2", "--yes", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=run_env(MLVC_PAUSE_AT="objects", MLVC_PAUSE_FILE=str(marker)),
        start_new_session=True,
    )
    wait_for(marker.exists)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _ls_remote(url) == before
    _git("fsck", "--strict", cwd=bare)
    out = mlvc("-C", str(a.path), "promote", "exp/c2", "--yes")
    assert out.returncode == 0, out.stderr
    assert _versions(url) == ["1.0.0"]


def test_the_hook_refuses_forged_tags_force_pushes_and_borrowed_approvals(
    served, tmp_path: Path
) -> None:
    seed, url, bare, server = served
    a = _clone(url, tmp_path / "a")
    assert mlvc("-C", str(a.path), "promote", "exp/c1", "--yes").returncode == 0
    w = tmp_path / "w"
    _git("clone", "-q", url, str(w))
    work = GitRepo.existing(w)
    old_prod = work.rev("prod~1")
    # a forged version tag on prod's head, and one off prod's history
    work.git("tag", "-a", "-m", "forged", "model@v9.0.0", "prod")
    work.git("tag", "-a", "-m", "off", "model@v8.0.0", "origin/exp/c0")
    for tag, why in (("model@v9.0.0", "record says model@v1.0.0"), ("model@v8.0.0", "off prod")):
        out = _git("push", "origin", f"refs/tags/{tag}", cwd=w, check=False)
        assert out.returncode != 0 and why in out.stderr, out.stderr
    # moving an existing version tag, and force-pushing prod back
    work.git("tag", "-f", "-a", "-m", "moved", "model@v1.0.0", old_prod)
    out = _git("push", "-f", "origin", "refs/tags/model@v1.0.0", cwd=w, check=False)
    assert out.returncode != 0 and "can not be moved" in out.stderr
    out = _git("push", "-f", "origin", f"{old_prod}:refs/heads/prod", cwd=w, check=False)
    assert out.returncode != 0 and "fast-forward" in out.stderr
    # a plain commit on prod
    work.commit("hand edit", {"models/model.pkl": b"by hand"})
    out = _git("push", "origin", "prod", cwd=w, check=False)
    assert out.returncode != 0 and "neither a promotion" in out.stderr
    # an approval in someone else's name; then one in the pusher's own name
    trainer2 = server.url(bare.name, "trainer2")
    a.git("remote", "set-url", "origin", trainer2)
    before = refs(a)
    out = mlvc("-C", str(a.path), "approve", "exp/c3", "--remote", env=_as("alice"))
    assert out.returncode == 1, out.stderr
    last = out.stderr.strip().splitlines()[-1]  # progress lines come first
    assert last.startswith("mlvc: the server refused the push: approval of")
    assert "in the name of alice <alice@example.com>, pushed by trainer2" in last
    out = mlvc("-C", str(a.path), "approve", "exp/c3", "--remote", env=_as("trainer2"))
    assert out.returncode == 0, out.stderr
    notes = _git("notes", "--ref=mlvc-approvals", "show", seed.rev("exp/c3"), cwd=bare).stdout
    assert "trainer2" in notes and "alice" not in notes
    assert before != refs(a)  # the local notes hold the merged approvals
    assert _ls_remote(url)["refs/heads/prod"] == a.rev("origin/prod")
    _git("fsck", "--strict", cwd=bare)


def test_two_boxes_approve_at_once_and_both_approvals_survive(served, tmp_path: Path) -> None:
    seed, _url, bare, server = served
    boxes = []
    for i, user in enumerate(("trainer1", "trainer2")):
        box = _clone(server.url(bare.name, user), tmp_path / f"box{i}")
        boxes.append((box, user))
    procs = [
        subprocess.Popen(
            [MLVC, "-C", str(b.path), "approve", "exp/c0", "--remote"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_as(user),
        )
        for b, user in boxes  # two people: each approval is its git identity's (#12)
    ]
    for p in procs:
        assert p.wait(60) == 0, p.communicate()
    notes = _git("notes", "--ref=mlvc-approvals", "show", seed.rev("exp/c0"), cwd=bare).stdout
    assert "trainer1" in notes and "trainer2" in notes


def test_delivery_change_goes_to_the_server_through_the_hook(served, tmp_path: Path) -> None:
    _, url, bare, _ = served
    a = _clone(url, tmp_path / "a")
    before = _ls_remote(url)["refs/heads/prod"]
    out = mlvc("-C", str(a.path), "canary", "exp/c2", "--percent", "10", "--remote", "--json")
    assert out.returncode == 0, out.stderr
    new = _ls_remote(url)["refs/heads/prod"]
    assert new == json.loads(out.stdout)["commit"] != before
    changed = _git("diff", "--name-only", before, new, cwd=bare).stdout.split()
    assert changed == ["delivery.toml"]
    assert "refs/heads/prod" not in refs(a)


def test_approvals_made_apart_merge_and_both_reach_the_server(served, tmp_path: Path) -> None:
    seed, _url, bare, server = served
    one = _clone(server.url(bare.name, "trainer1"), tmp_path / "one")
    two = _clone(server.url(bare.name, "trainer2"), tmp_path / "two")
    out = mlvc("-C", str(two.path), "approve", "exp/c1", "--local", env=_as("trainer2"))
    assert out.returncode == 0, out.stderr  # offline: only in two's notes for now
    out = mlvc("-C", str(one.path), "approve", "exp/c1", "--remote", env=_as("trainer1"))
    assert out.returncode == 0, out.stderr
    out = mlvc("-C", str(two.path), "approve", "exp/c1", "--remote", env=_as("trainer2"))
    assert out.returncode == 0, out.stderr  # fetch merges both histories of the notes
    notes = _git("notes", "--ref=mlvc-approvals", "show", seed.rev("exp/c1"), cwd=bare).stdout
    assert '"trainer1 <' in notes and '"trainer2 <' in notes
    parents = _git("rev-list", "--parents", "-n1", "refs/notes/mlvc-approvals", cwd=bare)
    assert len(parents.stdout.split()) == 3  # a merge of the two approval histories
    _git("fsck", "--strict", cwd=bare)
