"""The check gate runs in a bubblewrap sandbox, and changed check code runs only when asked
(issue 11.2): a candidate rewrites src/check.py to write outside, phone home and print "ok".
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo
from tests.support.promote import base_registry, branch, copy_registry, metrics, mlvc, refs, run_env

EVIL_CHECK = """\
import os, pathlib, socket, sys
print("secret:", os.environ.get("MLVC_TEST_SECRET"))
print("home:", sorted(os.listdir(os.path.expanduser("~")))[:3])
for target in {targets!r}:
    try:
        pathlib.Path(target).write_text("pwned")
        print("wrote", target)
    except OSError as exc:
        print("could not write", target, type(exc).__name__)
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"hello")
    print("connected")
except OSError as exc:
    print("no network", type(exc).__name__)
print("ok")
"""


@pytest.fixture(scope="module")
def listener() -> object:
    """A TCP server on loopback that records whether anything connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append(conn.recv(100))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, listener: tuple) -> tuple[GitRepo, Path]:
    root = tmp_path_factory.mktemp("sandbox")
    outside = root / "outside"
    outside.mkdir()
    r = base_registry(root / "reg", 'check = "python src/check.py"')
    targets = [str(outside / "pwned"), str(root / "reg" / ".git" / "hooks" / "post-commit")]
    branch(
        r,
        "exp/evil-check",
        {
            "src/check.py": EVIL_CHECK.format(targets=targets, port=listener[0]),
            "models/model.pkl": b"model-2",
            "metrics/model.json": metrics(0.9),
        },
    )
    branch(r, "exp/fine", {"models/model.pkl": b"model-3", "metrics/model.json": metrics(0.9)})
    return r, outside


@pytest.fixture
def repo(template: tuple[GitRepo, Path], tmp_path: Path) -> GitRepo:
    return copy_registry(template[0], tmp_path / "reg")


def _nothing_landed(repo: GitRepo, outside: Path, hits: list[bytes]) -> None:
    assert list(outside.iterdir()) == []
    assert not (repo.path / ".git" / "hooks" / "post-commit").exists()
    assert hits == []


def test_dry_run_never_runs_changed_check_code(repo: GitRepo, template: tuple, listener: tuple):
    before = refs(repo)
    out = mlvc("-C", str(repo.path), "promote", "exp/evil-check", "--dry-run")
    assert out.returncode == 1
    last = out.stderr.splitlines()[-1]
    assert last.startswith("mlvc: gate check failed: not run: the candidate changes src/check.py")
    assert "--run-check" in last and "$ python" not in out.stderr  # it never started
    assert refs(repo) == before
    _nothing_landed(repo, template[1], listener[1])


def test_run_check_runs_it_in_the_sandbox(repo: GitRepo, template: tuple, listener: tuple):
    env = run_env(MLVC_TEST_SECRET="hunter2")
    before = refs(repo)
    out = mlvc(
        "-C", str(repo.path), "promote", "exp/evil-check", "--dry-run", "--run-check", env=env
    )
    assert out.returncode == 0, out.stderr
    assert "secret: None" in out.stderr  # a minimal environment
    assert "could not write" in out.stderr and "wrote" not in out.stderr
    assert "no network" in out.stderr
    assert refs(repo) == before
    _nothing_landed(repo, template[1], listener[1])


def test_yes_consents_and_promotes_sandboxed(repo: GitRepo, template: tuple, listener: tuple):
    out = mlvc("-C", str(repo.path), "promote", "exp/evil-check", "--yes")
    assert out.returncode == 0, out.stderr
    assert "no network" in out.stderr
    _nothing_landed(repo, template[1], listener[1])
    assert "fsck" not in repo.git("fsck", "--strict")


def test_without_bwrap_changed_code_never_runs(repo: GitRepo, template: tuple, listener: tuple):
    before = refs(repo)
    env = run_env(MLVC_BWRAP="")
    out = mlvc("-C", str(repo.path), "promote", "exp/evil-check", "--yes", "--run-check", env=env)
    assert out.returncode == 1
    assert out.stderr.splitlines()[-1].endswith(
        "which the check executes, and no sandbox is available to run it in "
        "(install bubblewrap: Debian package bubblewrap); nothing was changed"
    )
    assert refs(repo) == before
    _nothing_landed(repo, template[1], listener[1])
    fine = mlvc("-C", str(repo.path), "promote", "exp/fine", "--dry-run", env=env)
    assert fine.returncode == 0, fine.stderr  # the target's own check code still runs


def test_check_code_changes_unit() -> None:
    from mlvc_tui.engine.promotion.sandbox import check_code_changes

    target = {"src/check.py": 1, "tools/x.sh": 1, "models/m.pkl": 1}
    same = {"src/check.py": 1, "tools/x.sh": 1, "models/m.pkl": 2}
    assert check_code_changes("sh tools/x.sh", same, target) == ()
    assert check_code_changes("sh ./tools/x.sh", {**same, "tools/x.sh": 2}, target) == (
        "tools/x.sh",
    )
    assert check_code_changes("make", {**same, "src/new.py": 1}, target) == ("src/new.py",)
    assert check_code_changes("sh tools", {**same, "tools/y": 1}, target) == ("tools/y",)
