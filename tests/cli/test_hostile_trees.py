"""Trees git's fsck rejects are refused by name on every path that writes files (issue 11.1).

One test per entry point, as a user runs it: exit code, one line on stderr naming the
path, nothing written outside the repository, no ref moved, `git fsck` no worse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.hostile_trees import (
    HOSTILE_BRANCHES,
    HostileRegistry,
    hostile_registry,
    landed_outside,
)
from tests.support.promote import copy_registry, mlvc, refs


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> HostileRegistry:
    return hostile_registry(tmp_path_factory.mktemp("hostile") / "reg")


@pytest.fixture
def h(template: HostileRegistry, tmp_path: Path) -> HostileRegistry:
    (tmp_path / "outside").mkdir()
    repo = copy_registry(template.repo, tmp_path / "reg")
    return HostileRegistry(repo, tmp_path / "outside", template.token)


def _fsck(h: HostileRegistry) -> str:
    return h.repo.git("fsck", "--no-progress", check=False)


def _refused(h: HostileRegistry, branch: str, out: object, named: str | None = None) -> None:
    assert out.returncode == 1, (out.stdout, out.stderr)  # type: ignore[attr-defined]
    lines = out.stderr.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, out.stderr  # type: ignore[attr-defined]
    assert repr(named or h.named(branch)) in lines[0] and "refusing the tree" in lines[0]
    assert landed_outside(h) == []


@pytest.mark.parametrize("branch", list(HOSTILE_BRANCHES))
def test_dry_run_check_refuses_a_hostile_tree(h: HostileRegistry, branch: str) -> None:
    before, fsck = refs(h.repo), _fsck(h)
    out = mlvc("-C", str(h.repo.path), "promote", branch, "--dry-run")
    _refused(h, branch, out)
    assert refs(h.repo) == before and _fsck(h) == fsck


@pytest.mark.parametrize("branch", ["evil/dotdot", "evil/dotgit", "evil/symlink"])
def test_promotion_into_checked_out_prod_refuses(h: HostileRegistry, branch: str) -> None:
    before, fsck = refs(h.repo), _fsck(h)
    out = mlvc("-C", str(h.repo.path), "promote", branch, "--yes")
    _refused(h, branch, out)
    assert refs(h.repo) == before and _fsck(h) == fsck
    assert h.repo.git("status", "--porcelain") == ""


@pytest.mark.parametrize("branch", ["evil/dotdot", "evil/slash", "evil/dotgit"])
def test_reproduce_refuses(h: HostileRegistry, branch: str) -> None:
    before = refs(h.repo)
    out = mlvc("-C", str(h.repo.path), "reproduce", branch)
    _refused(h, branch, out)
    assert refs(h.repo) == before


def test_rollback_refuses_a_hostile_prod(h: HostileRegistry) -> None:
    """Someone pushed a hostile commit straight onto prod: rollback will not write it."""
    h.repo.git("tag", "-a", "-m", "v1", "model@v1.0.0", "prod")
    h.repo.git("update-ref", "refs/heads/prod", "evil/dotdot")
    before = refs(h.repo)
    out = mlvc("-C", str(h.repo.path), "rollback", "--to", "1.0.0", "--yes")
    _refused(h, "evil/dotdot", out)
    assert refs(h.repo) == before


def test_cp_refuses_a_hostile_path(h: HostileRegistry, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    out = mlvc("-C", str(h.repo.path), "cp", f"evil/dotdot:../{h.token}", f"{dest}/")
    _refused(h, "evil/dotdot", out, f"../{h.token}")
    assert list(dest.iterdir()) == []
    fine = mlvc("-C", str(h.repo.path), "cp", "evil/dotdot:models/model.pkl", f"{dest}/")
    assert fine.returncode == 0 and (dest / "model.pkl").read_bytes() == b"model-evil"


def test_api_and_fsspec_refuse(h: HostileRegistry, tmp_path: Path) -> None:
    import mlvc_tui as mlvc_api
    from mlvc_tui.engine.errors import UnsafePath
    from mlvc_tui.fs import MlvcFileSystem

    with mlvc_api.open(h.repo.path) as reg:
        with pytest.raises(UnsafePath, match="refusing the tree"):
            reg.ls("evil/dotdot")
        with pytest.raises(UnsafePath, match=repr(h.named("evil/slash")).replace("\\", "\\\\")):
            reg.ls("evil/slash")
        with pytest.raises(UnsafePath):
            reg.open("evil/dotdot", f"../{h.token}", "rb")
    fs = MlvcFileSystem(repo=str(h.repo.path))
    local = tmp_path / "got"
    with pytest.raises(UnsafePath):
        fs.get("evil/dotgit:", str(local), recursive=True)
    assert landed_outside(h) == []
    assert not (local / ".git").exists()


def test_unit_names() -> None:
    from mlvc_tui.engine.git.paths import unsafe_name

    bad = ["", ".", "..", ".git", ".GiT", ".git.", ".git ..", "git~1", "GIT~1", ".g\u200dit"]
    bad += [".git::$INDEX_ALLOCATION", "a/b", "a\\b", "a\x00b", "\ufeff.git"]
    assert [n for n in bad if unsafe_name(n) is None] == []
    fine = [".gitx", "git", ".github", ".gitignore", "x.git", "...", "a b", "日本"]
    assert [n for n in fine if unsafe_name(n) is not None] == []
    assert unsafe_name(".gitmodules", 0o120000) is not None
    assert unsafe_name(".gitmodules", 0o100644) is None
