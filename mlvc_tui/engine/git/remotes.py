"""Remotes in `.git/config` and the refs a fetch or push moves locally.

``remote_url`` and ``upstream_remote`` read git's config; ``set_remote`` writes the
usual ``[remote "origin"]`` section; ``update_refs`` moves local refs by compare-and-swap;
``ahead_behind`` counts commits on either side of two tips.
"""

from __future__ import annotations

import heapq
import os
import shutil
import subprocess
from collections.abc import Mapping

from dulwich.file import FileLocked
from dulwich.objects import Commit
from dulwich.repo import Repo

from mlvc_tui.engine.git.ids import HEAD, ObjectID, branch_ref, object_id, ref_name
from mlvc_tui.engine.git.objects import decode, encode

ZERO_HEX = "0" * 40

__all__ = [
    "ahead_behind",
    "init_clone",
    "local_setting",
    "open_pushed",
    "remote_names",
    "remote_url",
    "set_remote",
    "update_refs",
    "upstream_remote",
]


def open_pushed(path: str) -> Repo:
    """The repository a hook runs in, seeing the pushed objects git keeps in quarantine.

    In a pre-receive hook git puts the new objects in ``GIT_OBJECT_DIRECTORY`` and lists
    the repository's own store in ``GIT_ALTERNATE_OBJECT_DIRECTORIES``.
    """
    objects = os.environ.get("GIT_OBJECT_DIRECTORY")
    alternates = [p for p in os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", "").split(":") if p]
    if not objects:
        return Repo(path)
    return Repo(path, object_directory=objects, alternates=alternates)


def init_clone(path: str, head_branch: str) -> Repo:
    """A new non-bare repository whose HEAD names ``head_branch`` (not created yet)."""
    repo = Repo.init(path, mkdir=False)
    repo.refs.set_symbolic_ref(HEAD, branch_ref(head_branch))
    return repo


def read_ref(repo: Repo, name: str) -> str | None:
    """The id a ref holds (symbolic refs followed), or None."""
    try:
        sha = repo.refs[ref_name(name)]
    except KeyError:
        return None
    return sha.decode("ascii")


def remote_names(repo: Repo) -> tuple[str, ...]:
    """Every remote configured in `.git/config`."""
    config = repo.get_config()
    return tuple(
        decode(section[1])
        for section in config.sections()
        if len(section) == 2 and section[0] == b"remote"
    )


def remote_url(repo: Repo, name: str) -> str | None:
    """The URL of remote ``name`` (its pushurl when ``push``), or None."""
    config = repo.get_config()
    try:
        return decode(config.get((b"remote", encode(name)), b"url"))
    except KeyError:
        return None


def upstream_remote(repo: Repo, branch: str) -> str | None:
    """The remote a branch tracks (``branch.<name>.remote``), or None."""
    config = repo.get_config()
    try:
        return decode(config.get((b"branch", encode(branch)), b"remote"))
    except KeyError:
        return None


def local_setting(repo: Repo, section: str, key: str) -> str | None:
    """``<section>.<key>`` from the repository's own git config, or None."""
    try:
        return decode(repo.get_config().get((encode(section),), encode(key)))
    except KeyError:
        return None


def set_remote(repo: Repo, name: str, url: str) -> None:
    """Add (or re-point) remote ``name`` with git's default fetch refspec."""
    config = repo.get_config()
    section = (b"remote", encode(name))
    config.set(section, b"url", encode(url))
    config.set(section, b"fetch", encode(f"+refs/heads/*:refs/remotes/{name}/*"))
    config.write_to_path()


def update_refs(
    repo: Repo, changes: Mapping[str, tuple[str | None, str | None]], message: str
) -> list[str]:
    """Move refs ``name -> (expected old or None, new or None to delete)``; the ones done.

    With git installed, all of them in one `git update-ref --stdin` transaction (all or
    none, fast for hundreds of refs); else one compare-and-swap each through dulwich.
    """
    git = shutil.which("git")
    if git is not None and changes:
        lines = ["start"]
        for name, (old, new) in changes.items():
            lines.append(f"update {name} {new or ZERO_HEX} {old or ZERO_HEX}")
        lines.append("commit")
        proc = subprocess.run(
            [git, "update-ref", "-m", message, "--stdin"],
            input="\n".join(lines) + "\n",
            text=True,
            capture_output=True,
            env={**os.environ, "GIT_DIR": repo.controldir()},
            check=False,
        )
        return list(changes) if proc.returncode == 0 else []
    done = []
    for name, (old, new) in changes.items():
        ref = ref_name(name)
        try:
            if new is None:
                ok = repo.refs.remove_if_equals(ref, object_id(old) if old else None)
            elif old is None:
                ok = repo.refs.add_if_new(ref, object_id(new), message=encode(message))
            else:
                ok = repo.refs.set_if_equals(
                    ref, object_id(old), object_id(new), message=encode(message)
                )
        except FileLocked:
            ok = False
        if ok:
            done.append(name)
    return done


def ahead_behind(repo: Repo, mine: str, theirs: str, limit: int = 5000) -> tuple[int, int]:
    """(commits only on ``mine``, commits only on ``theirs``), as `git rev-list --count`.

    Walks newest first from both tips and stops once every open path is common to both.
    """
    if mine == theirs:
        return 0, 0
    flags: dict[ObjectID, int] = {}
    heap: list[tuple[int, ObjectID]] = []

    def push(sha: ObjectID, flag: int) -> None:
        old = flags.get(sha, 0)
        if old | flag == old:
            return
        flags[sha] = old | flag
        try:
            obj = repo.object_store[sha]
        except KeyError:
            return
        if isinstance(obj, Commit):
            heapq.heappush(heap, (-obj.commit_time, sha))

    push(object_id(mine), 1)
    push(object_id(theirs), 2)
    ahead = behind = steps = 0
    while heap and steps < limit:
        if all(flags[s] == 3 for _, s in heap):
            break
        _, sha = heapq.heappop(heap)
        steps += 1
        flag = flags[sha]
        obj = repo.object_store[sha]
        assert isinstance(obj, Commit)
        for parent in obj.parents:
            push(parent, flag)
    for flag in flags.values():
        if flag == 1:
            ahead += 1
        elif flag == 2:
            behind += 1
    return ahead, behind
