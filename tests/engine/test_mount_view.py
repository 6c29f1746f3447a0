"""What a mount shows, without FUSE: names git refuses, ref forms, and reads at any offset."""

from __future__ import annotations

import random
import subprocess
import threading

import pytest

from mlvc_tui.engine import BadInput, RefNotFound, Registry
from mlvc_tui.engine.git import seekable
from mlvc_tui.engine.git.seekable import Corrupt, open_source
from mlvc_tui.engine.mount import resolve_mount_ref, safe_name
from mlvc_tui.engine.mount.view import TreeView
from tests.support.gitrepo import GitRepo
from tests.support.mountrepo import HOSTILE_NAMES, build_mount_repo


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    return build_mount_repo(tmp_path_factory.mktemp("view") / "repo", 5 << 20)


@pytest.mark.parametrize("name", [*HOSTILE_NAMES, "", ".", "a/b", "x\0y", ".Git ", "GIT~1"])
def test_names_git_refuses(name: str) -> None:
    assert not safe_name(name)


@pytest.mark.parametrize("name", ["model.pkl", ".gitattributes", ".github", "git", "..x", "ü"])
def test_names_git_accepts(name: str) -> None:
    assert safe_name(name)


def test_view_hides_hostile_entries_and_resolves(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        lock = threading.Lock()
        target = resolve_mount_ref(reg, "exp/hostile")
        assert target.branch == "exp/hostile" and target.commit == repo.rev("exp/hostile")
        view = TreeView(reg, lock, target.commit)
        root = view.lookup("")
        assert root is not None
        assert [n for n, _ in view.children(root)] == [".gitattributes", "data", "models", "src"]
        for name in HOSTILE_NAMES:
            assert view.lookup(name) is None
        assert view.lookup("data/pinned").kind == "submodule"  # type: ignore[union-attr]
        assert view.lookup("src/weights").kind == "link"  # type: ignore[union-attr]
        assert view.size(view.lookup("models/model.bin")) == 5 << 20  # type: ignore[arg-type]
        with pytest.raises(BadInput):
            TreeView(reg, lock, target.commit, "src/train.sh")
        with pytest.raises(RefNotFound):
            resolve_mount_ref(reg, "models:/model@nowhere")
        assert resolve_mount_ref(reg, repo.rev("prod")[:10]).branch is None


def test_sources_read_any_offset_and_check_lfs(repo: GitRepo) -> None:
    lock = threading.Lock()
    rng = random.Random(3)
    with Registry.open(repo.path) as reg:
        tree = reg.tree_of("exp/corrupt")
        for path in ("models/weights.npy", "models/model.bin", "data/rows.csv"):
            want = subprocess.run(
                ["git", "show", f"prod:{path}"], cwd=repo.path, capture_output=True, check=True
            ).stdout
            _, blob = reg.objects.lookup(tree, path)  # type: ignore[misc]
            source = open_source(reg, lock, tree, path, blob)
            if source.storage == "lfs":
                oid = want.decode().split("sha256:")[1].split()[0]
                store = repo.path / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
                want = store.read_bytes()
            assert source.size == len(want)
            for _ in range(20):
                offset = rng.randrange(len(want))
                assert source.read(offset, 70_000) == want[offset : offset + 70_000]
            source.close()
        # in order with gaps (readahead served out of order), the whole LFS file checks out
        _, blob = reg.objects.lookup(tree, "models/model.bin")  # type: ignore[misc]
        source = open_source(reg, lock, tree, "models/model.bin", blob)
        seekable._GOOD.clear()
        step = 1 << 17
        for offset in sorted(range(0, source.size, step), key=lambda o: o // (4 * step) * 8 - o):
            source.read(offset, step)  # each group of four read backwards
        source.close()
        assert source.oid in seekable._GOOD  # type: ignore[attr-defined]
        _, blob = reg.objects.lookup(tree, "models/small.bin")  # type: ignore[misc]
        source = open_source(reg, lock, tree, "models/small.bin", blob)
        with pytest.raises(Corrupt):
            source.read(0, 8192)
        with pytest.raises(Corrupt):
            open_source(reg, lock, tree, "models/small.bin", blob)
