"""Creating or adopting a repository as a registry: the git side of `mlvc init`."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dulwich.errors import NotGitRepository
from dulwich.objects import Blob, Commit, Tree
from dulwich.refs import check_ref_format
from dulwich.repo import Repo

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.ids import HEAD, branch_ref, ref_name
from mlvc_tui.engine.git.objects import encode

__all__ = ["adopt_repository", "check_branch_name"]


def _identity(repo: Repo) -> bytes:
    config = repo.get_config_stack()
    try:
        name = config.get((b"user",), b"name")
        email = config.get((b"user",), b"email")
        return name + b" <" + email + b">"
    except KeyError:
        user = os.environ.get("USER", "mlvc")
        return f"{user} <{user}@localhost>".encode()


def check_branch_name(name: str) -> None:
    """BadInput unless ``name`` is a valid branch name."""
    if not name or not check_ref_format(branch_ref(name)):
        raise BadInput(f"{name!r} is not a valid branch name")


def adopt_repository(
    root: Path, prod: str, name: str, content: bytes, remember_prod: bool = False
) -> tuple[str, list[str]]:
    """Make ``root`` (or the repository holding it) have a ``prod`` branch, committing
    ``name`` with ``content`` as its first file when there are no branches yet; (the
    repository's folder, what was done). With ``remember_prod``, the repository's own
    config names the prod branch (``mlvc.prod``), for a name git's defaults do not guess."""
    done: list[str] = []
    try:
        repo = Repo.discover(str(root))
    except NotGitRepository:
        root.mkdir(parents=True, exist_ok=True)
        repo = Repo.init(str(root))
        repo.refs.set_symbolic_ref(HEAD, branch_ref(prod))
        done.append(f"created a git repository in {root.resolve()}")
    with repo:
        ref = branch_ref(prod)
        text = content
        if not repo.refs.as_dict(ref_name("refs/heads/")):
            if repo.bare:
                raise BadInput("an empty bare repository: push a first commit to it instead")
            blob = Blob.from_string(text)
            tree = Tree()
            tree.add(encode(name), 0o100644, blob.id)
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
            repo.refs.set_symbolic_ref(HEAD, ref)
            Path(repo.path, name).write_bytes(text)
            repo.get_worktree().stage([encode(name)])
            done.append(f"committed {name} on a new branch {prod}")
        elif ref not in repo.refs:
            head = repo.refs.read_ref(HEAD)
            target = repo.head()
            repo.refs.add_if_new(ref, target)
            done.append(f"created branch {prod} at {target.decode()[:8]} (from {head!r})")
        if not repo.bare and not Path(repo.path, name).exists():
            Path(repo.path, name).write_bytes(text)
            done.append(f"wrote {name}: commit it on {prod} to share the settings")
        if remember_prod and not repo.bare:
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
        return str(Path(repo.path).resolve()), done
