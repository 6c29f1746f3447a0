"""The engine against real repositories built by the `git` CLI, cross-checked with git."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from mlvc_tui.engine import (
    ArtifactStatus,
    BranchKind,
    NotARegistry,
    RefNotFound,
    Registry,
    Storage,
)
from tests.support.gitrepo import GitRepo, git_env

MODEL_V1 = b"\x80\x04model-one" * 10
MODEL_V2 = b"\x80\x04model-two" * 12


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """prod with two model versions; dev and exp/wide forked from it; a tag on prod."""
    r = GitRepo(tmp_path / "reg")
    r.commit(
        "Train the first model",
        {
            "src/train.py": "print('train')\n",
            "params.yaml": "lr: 0.1\nepochs: 3\n",
            "models/model.pkl": MODEL_V1,
            "metrics/model.json": {"accuracy": 0.8, "loss": 0.5},
            "data/train.csv": "a,b\n1,2\n",
            "logs/train.log": "epoch 1\n",
        },
    )
    r.git("tag", "-a", "model@v1.0.0", "-m", "first")
    r.checkout("dev", new=True)
    r.commit(
        "Tune lr",
        {
            "params.yaml": "lr: 0.05\nepochs: 3\n",
            "models/model.pkl": MODEL_V2,
            "metrics/model.json": {"accuracy": 0.85, "loss": 0.4},
        },
    )
    r.checkout("prod")
    r.commit("Add monitoring", {"monitoring/drift.csv": "timestamp,feature,metric,value\n"})
    r.checkout("exp/wide", new=True)
    r.commit(
        "Wider model, no logs",
        {
            "models/model.pkl": MODEL_V2 + b"!",
            "logs/train.log": None,
            "metrics/model.json": {"accuracy": 0.7, "loss": 0.6, "slices": {"eu": {"f1": 0.6}}},
        },
    )
    r.checkout("prod")
    return r


def test_opens_from_a_subfolder_and_knows_head(repo: GitRepo) -> None:
    with Registry.open(repo.path / "models") as reg:
        assert reg.root == repo.path.resolve()
        assert reg.prod == "prod" and reg.head == "prod" and not reg.bare


def test_branches_match_git_for_each_ref(repo: GitRepo) -> None:
    refs = dict(
        line.split()
        for line in repo.git(
            "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads"
        ).split("\n")
        if line
    )
    with Registry.open(repo.path) as reg:
        branches = reg.branches()
    assert {b.name: b.commit.id for b in branches} == refs
    assert [b.name for b in branches][:2] == ["prod", "dev"]
    kinds = {b.name: b.kind for b in branches}
    assert kinds == {
        "prod": BranchKind.PROD,
        "dev": BranchKind.ENVIRONMENT,
        "exp/wide": BranchKind.EXPERIMENT,
    }
    prod = branches[0]
    assert prod.is_head and prod.commit.summary == "Add monitoring"
    assert prod.commit.author == "Ana Ruiz <ana@example.com>"
    assert prod.commit.time == int(repo.git("log", "-1", "--format=%at", "prod"))


def test_artifacts_match_git_ls_tree(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        for branch in ("prod", "dev", "exp/wide"):
            listed = {
                p: v
                for p, v in repo.ls_tree(branch).items()
                if p.split("/")[0] in ("models", "metrics", "logs", "monitoring", "data")
            }
            arts = reg.artifacts(branch)
            assert {p: (a.blob_id, a.size) for p, a in arts.items()} == listed
    assert arts["models/model.pkl"].kind == "models"
    assert "src/train.py" not in arts and "params.yaml" not in arts


def test_grid_status_against_prod(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        grid = reg.grid()
    assert grid.prod == "prod" and grid.head == "prod" and grid.primary_metric == "accuracy"
    assert grid.columns[0].startswith("models/")
    dev, wide = grid.row("dev"), grid.row("exp/wide")
    assert dev is not None and wide is not None
    assert dev.status["models/model.pkl"] is ArtifactStatus.CHANGED
    assert dev.status["data/train.csv"] is ArtifactStatus.SAME
    assert dev.status["monitoring/drift.csv"] is ArtifactStatus.MISSING
    assert wide.status["logs/train.log"] is ArtifactStatus.MISSING
    assert all(s is ArtifactStatus.SAME for s in grid.rows[0].status.values())
    assert dev.primary_value == 0.85 and dev.primary_delta == pytest.approx(0.05)
    assert dev.primary_verdict.value == "better" and wide.primary_verdict.value == "worse"


def test_new_artifact_and_worktree_changes(repo: GitRepo) -> None:
    repo.checkout("dev")
    repo.commit("Export onnx", {"models/model.onnx": b"onnx"})
    repo.write(
        {"metrics/model.json": {"accuracy": 0.9}, "logs/new.log": "x", "models/model.onnx": None}
    )
    (repo.path / "data" / "train.csv").write_text("a,b\n1,2\n")  # same bytes: not modified
    with Registry.open(repo.path) as reg:
        grid = reg.grid()
        changes = {(c.path, c.change) for c in reg.worktree_changes()}
        worktree = reg.metrics(":worktree")
    assert changes == {
        ("metrics/model.json", "modified"),
        ("logs/new.log", "added"),
        ("models/model.onnx", "deleted"),
    }
    dev = grid.row("dev")
    assert dev is not None and dev.branch.is_head
    assert dev.status["metrics/model.json"] is ArtifactStatus.MODIFIED
    assert dev.status["logs/new.log"] is ArtifactStatus.MODIFIED
    assert dev.status["models/model.onnx"] is ArtifactStatus.MODIFIED
    assert "models/model.onnx" not in grid.row("prod").status
    assert worktree.values == {"accuracy": 0.9}
    porcelain = repo.git("status", "--porcelain")
    assert "metrics/model.json" in porcelain and "logs/new.log" in porcelain


def test_lfs_pointer_and_submodule(tmp_path: Path) -> None:
    r = GitRepo(tmp_path / "reg")
    data = GitRepo(tmp_path / "data")
    data_head = data.commit("data v1", {"rows.csv": "x\n1\n"})
    big = b"weights" * 1000
    oid = hashlib.sha256(big).hexdigest()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(big)}\n"
    r.commit(
        "model via lfs",
        {
            "models/model.bin": pointer,
            "models/plain.txt": pointer,
            ".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n",
        },
    )
    r.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(data.path), "data")
    r.commit("pin data", {})
    with Registry.open(r.path) as reg:
        arts = reg.artifacts("prod")
    model, pinned = arts["models/model.bin"], arts["data"]
    assert (model.storage, model.id, model.size) == (Storage.LFS, oid, len(big))
    assert arts["models/plain.txt"].storage is Storage.BLOB  # not marked filter=lfs
    assert (pinned.storage, pinned.id) == (Storage.SUBMODULE, data_head)
    assert pinned.kind == "data"


def test_remote_tracking_bare_and_detached(repo: GitRepo, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True, env=git_env()
    )
    with Registry.open(bare) as reg:
        assert reg.bare and reg.head is None
        assert {b.name for b in reg.branches()} == {"prod", "dev", "exp/wide"}
        assert reg.grid().worktree == ()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True, env=git_env())
    with Registry.open(clone) as reg:
        names = {b.name: b for b in reg.branches()}
        assert set(names) == {"prod", "dev", "exp/wide"}  # local and remote-tracking merged
        assert names["dev"].remote == "origin" and names["dev"].remote_only
        assert names["dev"].ref == "refs/remotes/origin/dev"
        assert names["prod"].kind is BranchKind.PROD and not names["prod"].remote_only
        assert (names["prod"].upstream, names["prod"].ahead, names["prod"].behind) == (
            "origin/prod",
            0,
            0,
        )
        assert reg.resolve("dev") == reg.resolve("origin/dev")
    repo.git("checkout", "-q", "--detach", "dev")
    with Registry.open(repo.path) as reg:
        assert reg.head is None and reg.detached == repo.rev("dev")
        assert reg.resolve("HEAD") == repo.rev("dev")


def test_resolve_tags_prefixes_and_missing(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        assert reg.resolve("model@v1.0.0") == repo.rev("model@v1.0.0^{commit}")
        assert reg.tags() == {"model@v1.0.0": repo.rev("model@v1.0.0^{commit}")}
        assert reg.resolve(repo.rev("dev")[:7]) == repo.rev("dev")
        assert reg.resolve("refs/heads/dev") == repo.rev("dev")
        with pytest.raises(RefNotFound, match="no branch, tag or commit named 'nope'"):
            reg.resolve("nope")
        with pytest.raises(RefNotFound):
            reg.artifacts("deadbeef")


def test_not_a_repository_and_empty_repository(tmp_path: Path) -> None:
    with pytest.raises(NotARegistry, match="not inside a git repository"):
        Registry.open(tmp_path)
    with pytest.raises(NotARegistry, match="no such folder"):
        Registry.open(tmp_path / "missing")
    GitRepo(tmp_path / "empty")
    with pytest.raises(NotARegistry, match="no commits yet"):
        Registry.open(tmp_path / "empty")


def test_no_prod_branch_still_reads(tmp_path: Path) -> None:
    r = GitRepo(tmp_path / "reg", branch="trunk")
    r.commit("m", {"models/model.pkl": b"x"})
    with Registry.open(r.path) as reg:
        grid = reg.grid()
        assert reg.prod is None and grid.prod is None
        assert grid.rows[0].status["models/model.pkl"] is ArtifactStatus.NEW
        with pytest.raises(Exception, match="no prod branch"):
            reg.diff()


def test_main_is_the_fallback_prod(tmp_path: Path) -> None:
    r = GitRepo(tmp_path / "reg", branch="main")
    r.commit("m", {"models/model.pkl": b"x"})
    with Registry.open(r.path) as reg:
        assert reg.prod == "main" and reg.branches()[0].kind is BranchKind.PROD


def test_refresh_sees_a_branch_moved_by_git(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        before = reg.grid()
        repo.checkout("dev")
        repo.commit("Better", {"metrics/model.json": {"accuracy": 0.95}})
        repo.git("branch", "exp/new")
        repo.git("branch", "-D", "exp/wide")
        reg.refresh()
        after = reg.grid()
    assert before.row("dev").primary_value == 0.85
    assert after.row("dev").primary_value == 0.95
    assert after.row("exp/new") is not None and after.row("exp/wide") is None


def test_unicode_and_hostile_names(tmp_path: Path) -> None:
    r = GitRepo(tmp_path / "reg")
    odd = "models/my [bold]model[/bold] \x1b[31m.pkl"
    r.commit("\x1b[2J[red]wipe[/red] ünï", {odd: b"m", "models/model.pkl": b"x"})
    r.git("branch", "exp/ünïcødé-🚀")
    with Registry.open(r.path) as reg:
        names = [b.name for b in reg.branches()]
        assert "exp/ünïcødé-🚀" in names
        assert odd in reg.artifacts("exp/ünïcødé-🚀")
        assert reg.commit("prod").summary.startswith("\x1b[2J[red]wipe")


def test_object_cache_is_reused_and_a_corrupt_one_ignored(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        first = reg.grid()
    cache = repo.path / ".git" / "mlvc" / "cache-v1"
    assert cache.stat().st_size > 0
    with Registry.open(repo.path) as reg:
        assert reg.objects.cache.trees  # loaded, not re-read
        assert reg.grid().rows == first.rows
    cache.write_bytes(b"\x00garbage")
    with Registry.open(repo.path) as reg:
        assert reg.grid().rows == first.rows
    assert cache.read_bytes() != b"\x00garbage"  # rebuilt
    assert "mlvc" not in repo.git("status", "--porcelain")
    assert repo.git("fsck", "--strict") == ""


def test_loose_and_packed_refs_read_alike(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        loose = {b.name: b.commit.id for b in reg.branches()}
    repo.git("pack-refs", "--all")
    repo.checkout("dev")
    repo.commit("after packing", {"logs/x.log": "x"})  # a loose ref shadowing a packed one
    with Registry.open(repo.path) as reg:
        packed = {b.name: b.commit.id for b in reg.branches()}
        assert reg.tags() == {"model@v1.0.0": repo.rev("model@v1.0.0^{commit}")}
    assert packed == {**loose, "dev": repo.rev("dev")}


def test_dulwich_built_demo_reads_as_git_sees_it(tmp_path: Path) -> None:
    from mlvc_tui.engine.demo.build import build_demo

    root = build_demo(tmp_path / "demo", seed=3)
    r = GitRepo.existing(root)
    with Registry.open(root) as reg:
        for branch in reg.branches():
            listed = {
                p: v
                for p, v in r.ls_tree(branch.name).items()
                if p.split("/")[0] in ("models", "metrics", "logs", "monitoring", "data")
            }
            assert {p: (a.blob_id, a.size) for p, a in reg.artifacts(branch.name).items()} == listed
            first_parents = r.git(
                "log", "--first-parent", "--format=%H", "-n", "5", branch.name
            ).split()
            assert [c.id for c in reg.log(branch.name, 5)] == first_parents
        lin = reg.lineage(None, "prod")
    last = r.git(
        "log", "--first-parent", "-1", "--format=%H", "prod", "--", "models/model.pkl"
    ).strip()
    assert lin.version.commit.id == last and lin.record is not None


def test_ancestry_suffixes_match_git(repo: GitRepo) -> None:
    repo.checkout("dev")
    repo.git("merge", "-q", "--no-ff", "-m", "merge prod", "prod")
    with Registry.open(repo.path) as reg:
        for spec in ("dev~1", "dev^", "dev^2", "dev~2", "dev^^", "dev~1^1", "HEAD~1", "dev^0"):
            assert reg.resolve(spec) == repo.rev(spec), spec
        with pytest.raises(RefNotFound, match="has no parent 3"):
            reg.resolve("dev^3")
        with pytest.raises(RefNotFound, match="past the first commit"):
            reg.resolve("prod~9")


def test_worktree_skips_submodule_files_ignored_files_and_unsmudged_lfs(tmp_path: Path) -> None:
    data = GitRepo(tmp_path / "data")
    data.commit("data v1", {"rows.csv": "x\n1\n"})
    r = GitRepo(tmp_path / "reg")
    big = b"weights" * 100
    oid = hashlib.sha256(big).hexdigest()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(big)}\n"
    r.commit(
        "model via lfs",
        {
            "models/model.bin": pointer,
            ".gitignore": "logs/*.tmp\n",
            ".gitattributes": "*.bin filter=lfs -text\n",
        },
    )
    r.git(
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(data.path),
        "data/reference",
    )
    r.commit("pin data", {})
    (r.path / "logs").mkdir()
    (r.path / "logs" / "scratch.tmp").write_text("ignored")
    with Registry.open(r.path) as reg:
        assert reg.worktree_changes() == ()  # as `git status` says: clean
        (r.path / "models" / "model.bin").write_bytes(big)  # smudged: the real content
        assert reg.worktree_changes() == ()
        (r.path / "models" / "model.bin").write_bytes(b"retrained")
        assert [(c.path, c.change) for c in reg.worktree_changes()] == [
            ("models/model.bin", "modified")
        ]


def test_snapshot_of_one_branch_and_a_vanished_repository(repo: GitRepo) -> None:
    import shutil

    with Registry.open(repo.path) as reg:
        one = reg.snapshot("dev")
        assert one == reg.grid().row("dev")
        with pytest.raises(RefNotFound):
            reg.snapshot("nope")
        assert reg.commit("dev").author_name == "Ana Ruiz"
        assert reg.commit("dev").author_email == "ana@example.com"
        shutil.rmtree(repo.path / ".git")
        with pytest.raises(NotARegistry, match="the repository is gone"):
            reg.refresh()


def test_primary_metric_without_prod(tmp_path: Path) -> None:
    r = GitRepo(tmp_path / "reg", branch="trunk")
    r.commit("m", {"metrics/model.json": {"f1": 0.5, "accuracy": 0.7}})
    with Registry.open(r.path) as reg:
        assert reg.prod is None and reg.primary_metric() == "accuracy"


def test_same_size_rewrite_in_the_same_second_is_modified(repo: GitRepo) -> None:
    model = repo.path / "models" / "model.pkl"
    before = model.stat()
    model.write_bytes(bytes(reversed(MODEL_V1)))  # same size, written right after checkout
    os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns))  # even the same mtime
    with Registry.open(repo.path) as reg:
        assert [(c.path, c.change) for c in reg.worktree_changes()] == [
            ("models/model.pkl", "modified")
        ]
