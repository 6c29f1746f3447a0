"""The real `gto` command (the `gto` extra) for cross-checking mlvc's GTO tags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo
from tests.support.promote import run_env

GTO = Path(sys.executable).with_name("gto")
needs_gto = pytest.mark.skipif(
    not GTO.exists(), reason="gto is not installed: pip install -e '.[test,gto]'"
)


def gto(repo: GitRepo, *args: str) -> str:
    """What `gto ARGS` prints in ``repo`` (it must succeed)."""
    out = subprocess.run(
        [str(GTO), *args], cwd=repo.path, env=run_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout
