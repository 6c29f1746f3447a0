"""`mlvc init`: make a folder (or an existing repository) a registry."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from dulwich.errors import NotGitRepository
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

from mlvc_tui.engine.config import PROD_FALLBACKS, parse_config
from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.objects import encode

__all__ = ["default_config", "init_registry"]


def default_config(prod: str) -> str:
    """The text of a fresh `mlvc.toml`."""
    return (
        "# mlvc registry settings (docs/formats.md lists every key)\n"
        "[registry]\n"
        f'prod = "{prod}"\n'
        f'environments = ["{prod}", "staging", "dev"]\n'
        "\n[metrics]\n"
        '# primary = "accuracy"\n'
        "\n[metrics.direction]\n"
        '# latency_ms = "lower"\n'
    )


def _identity(repo: Repo) -> bytes:
    config = repo.get_config_stack()
    try:
        name = config.get((b"user",), b"name")
        email = config.get((b"user",), b"email")
        return name + b" <" + email + b">"
    except KeyError:
        user = os.environ.get("USER", "mlvc")
        return f"{user} <{user}@localhost>".encode()


def _check_branch_name(name: str) -> None:
    from dulwich.refs import check_ref_format

    if not name or not check_ref_format(b"refs/heads/" + encode(name)):
        raise BadInput(f"{name!r} is not a valid branch name")


def init_registry(path: str | os.PathLike[str], prod: str | None = None) -> dict[str, Any]:
    """Create or adopt a repository as a registry; returns what was done."""
    root = Path(path)
    if prod is None:
        existing = next(
            (
                p / "mlvc.toml"
                for p in (root, *root.resolve().parents)
                if (p / "mlvc.toml").is_file()
            ),
            None,
        )
        prod = (parse_config(existing.read_bytes()).prod if existing else None) or "prod"
    _check_branch_name(prod)
    done: list[str] = []
    try:
        repo = Repo.discover(str(root))
    except NotGitRepository:
        root.mkdir(parents=True, exist_ok=True)
        repo = Repo.init(str(root))
        repo.refs.set_symbolic_ref(b"HEAD", b"refs/heads/" + encode(prod))
        done.append(f"created a git repository in {root.resolve()}")
    with repo:
        ref = b"refs/heads/" + encode(prod)
        text = default_config(prod).encode()
        if not repo.refs.as_dict(b"refs/heads/"):
            if repo.bare:
                raise BadInput("an empty bare repository: push a first commit to it instead")
            blob = Blob.from_string(text)
            tree = Tree()
            tree.add(b"mlvc.toml", 0o100644, blob.id)
            commit = Commit()
            commit.tree = tree.id
            commit.author = commit.committer = _identity(repo)
            commit.author_time = commit.commit_time = int(time.time())
            commit.author_timezone = commit.commit_timezone = 0
            commit.message = b"Start the mlvc registry\n"
            for obj in (blob, tree, commit):
                repo.object_store.add_object(obj)
            if not repo.refs.add_if_new(ref, commit.id):
                raise BadInput(f"branch {prod} appeared meanwhile: run init again")
            repo.refs.set_symbolic_ref(b"HEAD", ref)
            Path(repo.path, "mlvc.toml").write_bytes(text)
            repo.get_worktree().stage([b"mlvc.toml"])
            done.append(f"committed mlvc.toml on a new branch {prod}")
        elif ref not in repo.refs:
            head = repo.refs.read_ref(b"HEAD")
            target = repo.head()
            repo.refs.add_if_new(ref, target)
            done.append(f"created branch {prod} at {target.decode()[:8]} (from {head!r})")
        if not repo.bare and not Path(repo.path, "mlvc.toml").exists():
            Path(repo.path, "mlvc.toml").write_bytes(text)
            done.append(f"wrote mlvc.toml: commit it on {prod} to share the settings")
        if prod not in PROD_FALLBACKS and not repo.bare:
            config = repo.get_config()
            try:
                known = config.get((b"mlvc",), b"prod")
            except KeyError:
                known = None
            if known != encode(prod):  # only this repository's own config names prod
                config.set((b"mlvc",), b"prod", encode(prod))
                config.write_to_path()
                done.append(f"set mlvc.prod = {prod} in .git/config")
        if not done:
            done.append("already a registry: nothing to do")
        return {"path": str(Path(repo.path).resolve()), "prod": prod, "done": done}
