"""What an annotated tag object says (the id it tags, its time), kept across processes.

GTO orders stage assignments by their tags' times, which only the tag objects hold: a
registry with thousands of promotions has thousands of stage tags, and reading each object
costs every `mlvc versions`. A tag object never changes, so its facts are kept by id in
``<git dir>/mlvc/tags-v1`` (marshal: plain data, never code; written to a temporary file
and renamed into place). A missing or unreadable file is rebuilt; a read-only repository
runs without it. The file is bounded (`MAX_ENTRIES`): beyond, it starts afresh.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from dulwich.objects import Tag
from dulwich.repo import Repo

from mlvc_tui.engine.git.ids import object_id

__all__ = ["MAX_ENTRIES", "tag_facts", "tag_facts_many"]

MAX_ENTRIES = 100_000  # about 9 MB on disk
_VERSION = 1
_KNOWN: dict[str, tuple[str, int] | None] = {}  # this process's, by tag object id


def tag_facts(repo: Repo, sha: str) -> tuple[str, int] | None:
    """(the id it tags, tag time) of the annotated tag object ``sha``; None when ``sha``
    is not a tag object (a lightweight tag's commit). Remembered by id: it never changes."""
    if sha in _KNOWN:
        return _KNOWN[sha]
    obj = repo.object_store[object_id(sha)]
    facts = (obj.object[1].decode("ascii"), obj.tag_time) if isinstance(obj, Tag) else None
    if len(_KNOWN) >= MAX_ENTRIES:
        _KNOWN.clear()
    _KNOWN[sha] = facts
    return facts


def _path(repo: Repo) -> Path:
    return Path(repo.controldir()) / "mlvc" / "tags-v1"


def _load(path: Path) -> dict[str, tuple[str, int] | None]:
    try:
        doc = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if isinstance(doc, dict) and doc.get("version") == _VERSION:
        facts = doc.get("facts")
        if isinstance(facts, dict):
            return facts
    return {}


def _save(path: Path, facts: dict[str, tuple[str, int] | None]) -> None:
    with contextlib.suppress(OSError):
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tags-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps({"version": _VERSION, "facts": facts}))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def tag_facts_many(repo: Repo, shas: Iterable[str]) -> dict[str, tuple[str, int] | None]:
    """:func:`tag_facts` of each of ``shas``, reading from the objects only those the
    repository's file does not know yet (and adding them to it)."""
    unique = list(dict.fromkeys(shas))
    wanted = [s for s in unique if s not in _KNOWN]
    if wanted:
        path = _path(repo)
        stored = _load(path)
        missing = [s for s in wanted if s not in stored]
        _KNOWN.update((s, stored[s]) for s in wanted if s in stored)
        if missing:
            for sha in missing:
                stored[sha] = tag_facts(repo, sha)
            _save(path, stored if len(stored) <= MAX_ENTRIES else {s: stored[s] for s in missing})
    return {s: tag_facts(repo, s) for s in unique}
