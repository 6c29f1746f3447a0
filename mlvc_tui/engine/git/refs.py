"""Reading every branch and tag ref in one pass: packed-refs plus the loose files.

dulwich's `as_dict` validates and follows each ref on its own (a file open per packed ref),
which dominates a refresh of a registry with hundreds of branches. Repositories using
reftable, or anything unexpected, fall back to dulwich.
"""

from __future__ import annotations

import os
from pathlib import Path

from dulwich.objects import ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

from mlvc_tui.engine.git.objects import decode, encode

__all__ = ["objects_named", "peeled_tag", "raw_ref", "read_refs"]

# packed-refs' ``^<id>`` lines: annotated tag object id -> the object it finally points at.
# A tag object's target never changes, so these are kept per process for every repository.
_PEELED: dict[str, str] = {}

_PREFIXES = ("refs/heads/", "refs/remotes/", "refs/tags/")
_HEXDIGITS = frozenset("0123456789abcdef")


def _is_sha(text: str) -> bool:
    return len(text) == 40 and set(text) <= _HEXDIGITS


def _with_dulwich(repo: Repo) -> dict[str, str]:
    return {
        decode(name): sha.decode("ascii")
        for name, sha in repo.refs.as_dict().items()
        if decode(name).startswith(_PREFIXES)
    }


def peeled_tag(tag_id: str) -> str | None:
    """The object an annotated tag finally points at, when packed-refs said so (else None)."""
    return _PEELED.get(tag_id)


def read_refs(repo: Repo) -> dict[str, str]:
    """Branch, remote-tracking and tag refs -> object id (symbolic refs left out).

    The peeled lines of packed-refs are remembered for `peeled_tag` on the way."""
    common = Path(repo.commondir())
    if (common / "reftable").exists():
        return _with_dulwich(repo)
    refs: dict[str, str] = {}
    try:
        packed = (common / "packed-refs").read_bytes()
    except FileNotFoundError:
        packed = b""
    except OSError:
        return _with_dulwich(repo)
    last = ""
    for line in packed.splitlines():
        if line[:1] == b"^":
            target = line[1:].strip().decode("ascii", "replace")
            if last and _is_sha(target):
                _PEELED[last] = target
            continue
        last = ""
        if not line or line[:1] == b"#":
            continue
        sha, _, raw_name = line.partition(b" ")
        last = sha.decode("ascii", "replace")
        text = decode(raw_name)
        if text.startswith(_PREFIXES) and _is_sha(sha.decode("ascii", "replace")):
            refs[text] = sha.decode("ascii")
    for top in ("heads", "remotes", "tags"):
        base = common / "refs" / top
        for folder, _, names in os.walk(base):
            for name in names:
                if name.endswith(".lock"):
                    continue  # a writer's lock (or one a crash left): never a ref
                path = Path(folder, name)
                try:
                    value = path.read_bytes().strip().decode("ascii", "replace")
                except OSError:
                    continue  # deleted meanwhile
                ref = path.relative_to(common).as_posix()
                if _is_sha(value):
                    refs[ref] = value
                elif not value.startswith("ref: "):
                    refs.pop(ref, None)  # being written: the packed value, if any, stays
    return refs


def raw_ref(repo: Repo, name: str) -> str | None:
    """What a ref holds, unfollowed: an id, or ``ref: <target>`` for a symbolic ref."""
    value = repo.refs.read_ref(Ref(encode(name)))
    return decode(value) if value is not None else None


def objects_named(repo: Repo, prefix: str) -> list[str]:
    """The ids of stored objects starting with a lower-case hex ``prefix`` (a whole id:
    itself, when it is stored)."""
    store = repo.object_store
    if len(prefix) == 40:
        return [prefix] if ObjectID(prefix.encode("ascii")) in store else []
    return [s.decode("ascii") for s in store.iter_prefix(prefix.encode("ascii"))]
