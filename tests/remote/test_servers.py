"""Each test server takes a push and a clone from the real git CLI; hooks see the pusher."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo, git_env, run_git

HOOK = """#!/bin/sh
echo "${REMOTE_USER:-nobody}" > "$GIT_DIR/pusher"
"""


@pytest.mark.parametrize("kind", ["http", "git", "ssh"])
def test_push_then_clone(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    server = request.getfixturevalue(
        {"http": "http_server", "git": "daemon_server", "ssh": "ssh_server"}[kind]
    )
    bare = server.new_repo(f"smoke-{kind}.git")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(HOOK)
    os.chmod(hook, 0o755)
    user = None if kind == "git" else "trainer2"
    url = server.url(bare.name, user)
    env = server.env(user)
    repo = GitRepo(tmp_path / "work")
    head = repo.commit("first", {"a.txt": "1"})
    run_git("push", url, "prod", env=env, cwd=repo.path)
    assert run_git("ls-remote", url, env=env).split()[0] == head
    run_git("clone", "-q", url, str(tmp_path / "copy"), env=env)
    assert (tmp_path / "copy" / "a.txt").read_text() == "1"
    assert (bare / "pusher").read_text().strip() == (user or "nobody")
    run_git("fsck", "--strict", cwd=bare)


def test_http_refuses_a_wrong_password(http_server, tmp_path: Path) -> None:
    bare = http_server.new_repo("smoke-auth.git")
    url = http_server.url(bare.name).replace("http://", "http://trainer1:wrong@")
    out = subprocess.run(
        ["git", "ls-remote", url],
        env={**git_env(), "GIT_TERMINAL_PROMPT": "0"},
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "Authentication failed" in out.stderr
