"""Tag facts (the id an annotated tag names, its time) as git says them, kept in
``.git/mlvc/tags-v1`` across processes; a corrupt file is ignored and rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlvc_tui.engine.git import tagfacts
from mlvc_tui.engine.git.commits import discover_repo
from tests.support.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "reg")
    r.commit("one", {"a.txt": "1\n"})
    r.git("tag", "-a", "model#prod#1", "-m", "assign")
    r.commit("two", {"a.txt": "2\n"})
    r.git("tag", "-a", "model#prod!#2", "-m", "unassign", "HEAD~1")
    r.git("tag", "light")  # lightweight: a commit, not a tag object
    return r


def git_says(r: GitRepo) -> dict[str, tuple[str, int] | None]:
    out = r.git(
        "for-each-ref",
        "refs/tags",
        "--format=%(objectname) %(objecttype) %(*objectname) %(taggerdate:unix)",
    )
    facts: dict[str, tuple[str, int] | None] = {}
    for line in out.splitlines():
        sha, kind, *rest = line.split()
        facts[sha] = (rest[0], int(rest[1])) if kind == "tag" else None
    return facts


def test_facts_are_gits_and_kept_for_the_next_process(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = git_says(repo)
    monkeypatch.setattr(tagfacts, "_KNOWN", {})
    with discover_repo(repo.path) as r:
        assert tagfacts.tag_facts_many(r, iter(expected)) == expected
    stored = repo.path / ".git" / "mlvc" / "tags-v1"
    assert stored.is_file()
    monkeypatch.setattr(tagfacts, "_KNOWN", {})  # a new process: what the file says
    assert tagfacts._load(stored) == expected
    stored.write_bytes(b"\x00not marshal")
    with discover_repo(repo.path) as r:
        assert tagfacts.tag_facts_many(r, list(expected)) == expected
    assert tagfacts._load(stored) == expected  # rewritten
