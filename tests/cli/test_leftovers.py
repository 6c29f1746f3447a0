"""What a crash leaves is cleaned by the next command; files keep the umask, the exec bit and
symbolic links; reading an LFS file checks its sha256 (issue 11.9)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mlvc_tui as mlvc_api
from mlvc_tui.engine.errors import BadInput
from tests.support.gitrepo import GitRepo
from tests.support.promote import mlvc, run_env


@pytest.fixture
def repo(candidates: GitRepo) -> GitRepo:
    return candidates  # a fresh copy of the two-candidates registry (tests/conftest.py)


def _old(path: Path, data: bytes = b"x" * 1000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - 7200
    os.utime(path, (then, then))
    return path


def test_the_next_command_sweeps_what_a_crash_left(repo: GitRepo, tmp_path: Path) -> None:
    git = repo.path / ".git"
    spool = _old(git / "mlvc" / "tmp" / "spool-abc")
    half = _old(git / "objects" / "ab" / "tmp_obj_xyz")
    busy = _old(git / "mlvc" / "tmp" / "spool-busy")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(busy)!r}); import time; time.sleep(60)"]
    )
    try:
        time.sleep(0.5)
        assert mlvc("-C", str(repo.path), "branches").returncode == 0
        assert not spool.exists() and not half.exists()
        assert busy.exists()  # a live writer's spool stays
    finally:
        holder.kill()
        holder.wait()
    dest = tmp_path / "out"
    crashed = _old(dest / ".model.pkl.k3j4h5")
    out = mlvc("-C", str(repo.path), "cp", "prod:models/model.pkl", f"{dest}/")
    assert out.returncode == 0, out.stderr
    assert not crashed.exists() and (dest / "model.pkl").read_bytes() == b"model-1"


def test_cp_honours_the_umask(repo: GitRepo, tmp_path: Path) -> None:
    script = (
        "import os, sys; os.umask(0o027); from mlvc_tui.cli.main import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "-C",
            str(repo.path),
            "cp",
            "prod:models/model.pkl",
            str(tmp_path / "m.pkl"),
        ],
        env=run_env(),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "m.pkl").stat().st_mode & 0o777 == 0o640


def test_promotion_keeps_exec_bits_and_symlinks(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "-b", "exp/tools", "exp/better")
    (repo.path / "src" / "run.sh").write_text("#!/bin/sh\necho run\n")
    (repo.path / "src" / "run.sh").chmod(0o755)
    os.symlink("run.sh", repo.path / "src" / "latest")
    repo.commit("tools", {})
    repo.checkout("prod")
    out = mlvc("-C", str(repo.path), "promote", "exp/tools", "--yes", "--run-check")
    assert out.returncode == 0, out.stderr
    assert os.access(repo.path / "src" / "run.sh", os.X_OK)
    assert (repo.path / "src" / "latest").is_symlink()
    assert os.readlink(repo.path / "src" / "latest") == "run.sh"
    assert repo.git("status", "--porcelain") == ""


def test_reading_an_lfs_file_checks_its_sha256(tmp_path: Path) -> None:
    r = GitRepo(tmp_path / "reg")
    r.commit("attrs", {".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n"})
    with mlvc_api.open(r.path) as reg, reg.open("prod", "models/m.bin", "wb") as fh:
        fh.write(b"weights " * 1000)
    oid = hashlib.sha256(b"weights " * 1000).hexdigest()
    stored = r.path / ".git/lfs/objects" / oid[:2] / oid[2:4] / oid
    stored.chmod(0o644)
    stored.write_bytes(b"WEIGHTS " * 1000)  # same size, other bytes
    with (
        mlvc_api.open(r.path) as reg,
        reg.open("prod", "models/m.bin") as fh,
        pytest.raises(BadInput, match="is corrupt"),
    ):
        fh.read()
