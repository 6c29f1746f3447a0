"""Branch tips kept in the disk cache: listing branches on the next open reads no commit
object, and a damaged cache (or commit-graph) file never gives a wrong date or order."""

from __future__ import annotations

import marshal
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from mlvc_tui.engine.git.diskcache import ObjectCache
from mlvc_tui.engine.registry import Registry
from tests.support.gitrepo import run_git

# (branch, author time, committer time): author and committer orders disagree, and the
# grid sorts experiments by author time, newest first
_TIPS = [
    ("exp/a", 1_790_000_000, 1_790_900_000),
    ("exp/b", 1_790_500_000, 1_790_100_000),
    ("exp/c", 1_790_250_000, 1_790_600_000),
    ("exp/d", 1_789_000_000, 1_791_000_000),
]


def _commit(path: Path, message: str, author: int, committer: int) -> None:
    env = {"GIT_AUTHOR_DATE": f"@{author} +0200", "GIT_COMMITTER_DATE": f"@{committer} +0000"}
    run_git("add", "-A", cwd=path)
    run_git("commit", "-q", "--allow-empty", "-m", message, cwd=path, env=env)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tips") / "repo"
    path.mkdir()
    run_git("init", "-q", "-b", "prod", cwd=path)
    (path / "models").mkdir()
    (path / "models" / "model.pkl").write_bytes(b"prod")
    _commit(path, "prod model", 1_789_500_000, 1_789_500_000)
    for name, author, committer in _TIPS:
        run_git("checkout", "-q", "-b", name, "prod", cwd=path)
        (path / "models" / "model.pkl").write_bytes(name.encode())
        _commit(path, f"train {name}\n\nwith a body", author, committer)
    run_git("checkout", "-q", "prod", cwd=path)
    return path


def _repo(template: Path, tmp_path: Path, graph: str) -> Path:
    repo = tmp_path / "repo"
    run_git("clone", "-q", "--no-local", str(template), str(repo))
    for name, _, _ in _TIPS:  # local branches, as in the template
        run_git("branch", "-q", name, f"origin/{name}", cwd=repo)
    run_git("remote", "remove", "origin", cwd=repo)
    commit_graph = repo / ".git" / "objects" / "info" / "commit-graph"
    if graph != "none":
        run_git("commit-graph", "write", "--reachable", cwd=repo)
        assert commit_graph.stat().st_size > 0
    if graph == "truncated":
        data = commit_graph.read_bytes()
        commit_graph.chmod(0o644)
        commit_graph.write_bytes(data[: len(data) // 2])
    return repo


def _truth(repo: Path) -> list[tuple[str, int, str]]:
    """(branch, author time, tip id) as git lists them: prod, then newest authored first."""
    out = run_git(
        "for-each-ref",
        "--sort=-authordate",
        "--format=%(refname:short) %(authordate:unix) %(objectname)",
        "refs/heads",
        cwd=repo,
    )
    rows = [(n, int(t), sha) for n, t, sha in (line.split() for line in out.splitlines())]
    return sorted(rows, key=lambda r: r[0] != "prod")


def _listed(repo: Path, reads: list[str] | None = None) -> list[tuple[str, int, str]]:
    with Registry.open(repo) as reg:
        if reads is not None:
            raw: Callable[[str], tuple[int, bytes]] = reg.objects.typed_raw

            def counted(sha: str) -> tuple[int, bytes]:
                reads.append(sha)
                return raw(sha)

            reg.objects.typed_raw = counted  # type: ignore[method-assign]
        branches = reg.branches()
        assert all(b.commit.message.endswith("with a body") for b in branches[1:])
        return [(b.name, b.commit.time, b.commit.id) for b in branches]


def _cache_file(repo: Path) -> Path:
    return repo / ".git" / "mlvc" / "cache-v1"


@pytest.mark.parametrize("graph", ["none", "written", "truncated"])
def test_tips_come_from_the_cache_on_the_next_open(
    template: Path, tmp_path: Path, graph: str
) -> None:
    repo = _repo(template, tmp_path, graph)
    truth = _truth(repo)
    assert [n for n, _, _ in truth] == ["prod", "exp/b", "exp/c", "exp/a", "exp/d"]
    first: list[str] = []
    assert _listed(repo, first) == truth  # read from the objects, then saved
    assert {sha for name, _, sha in truth if name != "prod"} <= set(first)  # (prod: at open)
    again: list[str] = []
    assert _listed(repo, again) == truth
    assert not {sha for _, _, sha in truth} & set(again)  # no tip read again
    cache = ObjectCache(_cache_file(repo))
    assert {sha for _, _, sha in truth} <= set(cache.commits)


def _damage_commits(path: Path, how: str) -> None:
    """Change the cache file's commits section the way ``how`` says."""
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
        return
    if how == "garbage":
        path.write_bytes(b"\x00garbage" + data[8:])
        return
    doc = marshal.loads(data)
    crc, section = doc["sections"]["commits"]
    commits = marshal.loads(section)
    for sha, (author, when, offset, message, parents, tree) in commits.items():
        entry = (author, when + 86_400, offset, message, parents, tree)  # a day off
        commits[sha] = ("not", "a commit") if how == "wrong shape" else entry
    section = marshal.dumps(commits)
    if how == "wrong shape":
        crc = zlib.crc32(section)  # a well-formed section holding bad entries
    doc["sections"]["commits"] = (crc, section)  # else: the old checksum, now wrong
    path.write_bytes(marshal.dumps(doc))


@pytest.mark.parametrize("how", ["flipped date", "truncated", "garbage", "wrong shape"])
def test_a_damaged_cache_never_gives_a_wrong_date(template: Path, tmp_path: Path, how: str) -> None:
    repo = _repo(template, tmp_path, "written")
    truth = _truth(repo)
    assert _listed(repo) == truth
    _damage_commits(_cache_file(repo), how)
    assert _listed(repo) == truth  # read from the objects instead
    reads: list[str] = []
    assert _listed(repo, reads) == truth  # and the file was written again, right
    assert not {sha for _, _, sha in truth} & set(reads)


TREE = (("model.pkl", 0o100644, "b" * 40),)
COMMIT = ("A <a@b>", 1_790_000_000, 7200, "msg", (), "t" * 40)


def _save_one_of_each(path: Path) -> None:
    """A cache file with one entry of each kind."""
    cache = ObjectCache(path)
    cache.trees["t" * 40] = TREE
    cache.sizes["b" * 40] = 12
    cache.add_metrics("m" * 40 + ":", {"accuracy": 0.9}, {})
    cache.add_commit("c" * 40, COMMIT)
    cache.save()


def test_each_kind_is_decoded_on_first_use_and_kept_when_not(tmp_path: Path) -> None:
    path = tmp_path / "cache-v1"
    _save_one_of_each(path)
    again = ObjectCache(path)
    assert again.sizes == {"b" * 40: 12}
    again.sizes["d" * 40] = 3  # something new: the file is written again
    again.save()
    assert set(again._tables) == {"sizes"}  # the other kinds were never decoded...
    third = ObjectCache(path)  # ...and were written back as they were
    assert third.trees == {"t" * 40: TREE}
    assert third.metrics == {"m" * 40 + ":": ({"accuracy": 0.9}, {})}
    assert third.commits == {"c" * 40: COMMIT}
    assert third.sizes == {"b" * 40: 12, "d" * 40: 3}


def test_an_upgrade_of_mlvc_keeps_gits_facts_and_parses_metrics_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlvc_tui.engine.git import diskcache

    path = tmp_path / "cache-v1"
    _save_one_of_each(path)
    monkeypatch.setattr(diskcache, "_PARSER", "a later mlvc")
    upgraded = ObjectCache(path)
    assert upgraded.metrics == {}  # its parser may read them differently
    assert upgraded.trees == {"t" * 40: TREE}
    assert upgraded.sizes == {"b" * 40: 12}
    assert upgraded.commits == {"c" * 40: COMMIT}
    assert upgraded.changed()  # so the file is written again without the old metrics
    upgraded.add_metrics("n" * 40 + ":", {"accuracy": 0.8}, {})
    upgraded.save()
    assert ObjectCache(path).metrics == {"n" * 40 + ":": ({"accuracy": 0.8}, {})}
    monkeypatch.setattr(diskcache, "_FORMAT", 99)  # a change of shape trusts nothing
    assert ObjectCache(path).trees == {} and ObjectCache(path).commits == {}


def test_listing_branches_decodes_no_tree(template: Path, tmp_path: Path) -> None:
    repo = _repo(template, tmp_path, "none")
    with Registry.open(repo) as reg:
        reg.grid()  # every kind learnt and saved
    with Registry.open(repo) as reg:
        reg.branches()
        assert "trees" not in reg.objects.cache._tables
        assert "commits" in reg.objects.cache._tables
