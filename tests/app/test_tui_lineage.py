"""The lineage screen, driven with Pilot on real repositories."""

from __future__ import annotations

import hashlib
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from mlvc_tui.screens.lineage import LineageScreen
from tests.support.gitrepo import GitRepo
from tests.support.views import (
    open_screen,
    rev,
    views_app,
)


def _labels(node: TreeNode[None], depth: int = 0) -> list[str]:
    """Every label under ``node`` (opened or not), indented by depth."""
    out = []
    for child in node.children:
        out.append("  " * depth + child.label.plain)
        out += _labels(child, depth + 1)
    return out


def _node(tree: Tree[None], prefix: str) -> TreeNode[None]:
    def walk(node: TreeNode[None]) -> TreeNode[None] | None:
        for child in node.children:
            if child.label.plain.startswith(prefix):
                return child
            if (hit := walk(child)) is not None:
                return hit
        return None

    found = walk(tree.root)
    assert found is not None, prefix
    return found


async def _open(pilot: Pilot[None], branch: str = "prod", model: str | None = None) -> Tree[None]:
    await open_screen(pilot, LineageScreen(branch, model))
    return pilot.app.screen.query_one(Tree)


async def test_model_version_commit_code_data_config_params_and_promotion(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(80, 24)) as pilot:
        tree = await _open(pilot)
        model = rev(views_repo, "prod:models/model.pkl")[:8]
        assert tree.root.label.plain.startswith(f"models/model.pkl  {model}  8 B")
        top = [n.label.plain for n in tree.root.children]
        assert top[0] == "version  model@v1.2.0"
        merge = rev(views_repo, "model@v1.2.0")[:8]
        assert top[1].startswith(f"commit  {merge}  2026-08-29 15:40 UTC  Ana Ruiz")
        assert top[2] == f"promoted from  exp/lr-sweep  ({rev(views_repo, 'exp/lr-sweep')[:8]})"
        assert top[3] == "code  src/  tree 8cdfa48b"
        assert top[4:7] == ["data  (1)", "config  (2)", "parameters  (3)"]
        labels = _labels(tree.root)
        assert "  data/train.csv  081829d1" in labels
        assert "  mlvc.toml  fee3980a" in labels and "  params.yaml  dc8468f9" in labels
        assert "  model.kind  logistic" in labels and "  lr  0.05" in labels
        assert _node(tree, "commit").children[0].label.plain == "Promote exp/lr-sweep to prod"


async def test_lineage_record_fields(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(120, 40)) as pilot:
        tree = await _open(pilot)
        record = _node(tree, "lineage record")
        assert record.is_expanded  # there is room at 120×40
        fields = [n.label.plain for n in record.children]
        assert fields[0] == "sha256  " + hashlib.sha256(b"model-v3").hexdigest()
        for line in (
            "format  pickle",
            "code commit  " + "0" * 40,
            "python  3.11",
            "command  python src/train.py",
            "user  ci-bot",
            "time  2026-09-01T10:00:00Z",
            "packages  (2)",
            "params  (2)",
        ):
            assert line in fields
        packages = _node(tree, "packages")
        assert [n.label.plain for n in packages.children] == ["numpy  2.1.0", "scikit-learn  1.5.2"]


async def test_earlier_versions_with_their_tags(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(80, 24)) as pilot:
        tree = await _open(pilot)
        earlier = _node(tree, "earlier versions")
        assert earlier.label.plain == "earlier versions  (2)" and earlier.is_expanded
        assert [n.label.plain for n in earlier.children] == [
            "model@v1.1.0  ef5002a4  2026-08-29 12:40 UTC  Retrain on August data",
            "model@v1.0.0  1a52fee1  2026-08-29 11:40 UTC  Initial model",
        ]
        assert earlier.children[0].children[0].label.plain == "models/model.pkl  64646607  8 B"


async def test_enter_and_vim_keys_open_and_close_nodes(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(80, 24)) as pilot:
        tree = await _open(pilot)
        data = _node(tree, "data  (1)")
        assert not data.is_expanded
        tree.move_cursor(data)
        await pilot.press("enter")
        assert data.is_expanded
        await pilot.press("enter")
        assert not data.is_expanded
        await pilot.press("l")
        assert data.is_expanded
        await pilot.press("j")  # onto data/train.csv
        assert tree.cursor_node is data.children[0]
        await pilot.press("h")  # a leaf: to its parent
        assert tree.cursor_node is data
        await pilot.press("h")  # open: close it
        assert not data.is_expanded
        await pilot.press("e")
        assert all(n.is_expanded for n in (data, _node(tree, "config"), _node(tree, "packages")))


async def test_record_of_an_older_model_is_flagged(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(80, 24)) as pilot:
        tree = await _open(pilot, "exp/feature-eng")
        record = _node(tree, "lineage record")
        assert record.children[0].label.plain == (
            "! written for other bytes: the record says 8 B, the model is 9 B"
        )
        assert "promoted from" not in " ".join(_labels(tree.root))
        earlier = _node(tree, "earlier versions")
        assert earlier.label.plain == "earlier versions  (4)"


async def test_errors_are_messages_in_place(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(80, 24)) as pilot:
        tree = await _open(pilot, "no-such-branch")
        message = pilot.app.screen.query_one("#message", Static)
        assert not tree.display and message.display
        assert "no branch, tag or commit named 'no-such-branch'" in str(message.render())
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, LineageScreen)
        await _open(pilot, "prod", model="no-such-model")
        assert "no model 'no-such-model'" in str(
            pilot.app.screen.query_one("#message", Static).render()
        )


async def test_hostile_messages_paths_and_params_render_literally(hostile_views_repo: Path) -> None:
    async with views_app(hostile_views_repo).run_test(size=(100, 30)) as pilot:
        tree = await _open(pilot, "prod")
        labels = _labels(tree.root)
        assert "  [bold red]init[/] \\x1b[31mred\\x1b[0m" in labels
        assert "  data/[b]x[/b].csv  78981922" in labels
        assert "  [i]lr[/i]  0.1" in labels
        await _open(pilot, "exp/ünï-模型-x]")
        title = pilot.app.screen.query_one("#title", Static).render()
        assert "models/model.pkl on exp/ünï-模型-x]" in str(title)


async def test_lfs_model_and_a_promotion_whose_branch_moved_on(tmp_path: Path) -> None:
    g = GitRepo(tmp_path / "lfs")
    pointer = (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{'ab' * 32}\nsize 123456789\n"
    )
    g.commit(
        "Initial model",
        {
            "models/model.bin": pointer,
            "src/train.py": "x\n",
            ".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n",
        },
    )
    g.checkout("exp/big", new=True)
    g.commit("Bigger model", {"models/model.bin": pointer.replace("ab", "cd")})
    merged = g.rev("HEAD")
    g.checkout("prod")
    g.clock += 3600
    g.git("merge", "-q", "--no-ff", "-m", "Promote exp/big", "exp/big")
    g.checkout("exp/big")
    g.commit("Keep experimenting", {"src/train.py": "y\n"})  # the branch moved on
    g.checkout("exp/gone", new=True)
    g.checkout("prod")
    async with views_app(g.path).run_test(size=(80, 24)) as pilot:
        tree = await _open(pilot, "prod")
        assert tree.root.label.plain == "models/model.bin  cdcdcdcd  123.5 MB  LFS"
        assert _node(tree, "promoted from").label.plain == (
            f"promoted from  exp/big  ({merged[:8]})"
        )
        assert _node(tree, "no lineage record").label.plain.startswith("no lineage record")
    g.git("branch", "-q", "-D", "exp/big", "exp/gone")
    async with views_app(g.path).run_test(size=(80, 24)) as pilot:
        tree = await _open(pilot, "prod")
        assert _node(tree, "promoted from").label.plain == f"promoted from  {merged[:8]}"


async def test_demo_prod_promoted_from_staging(demo_repo: Path) -> None:
    async with views_app(demo_repo).run_test(size=(120, 40)) as pilot:
        tree = await _open(pilot, "prod")
        top = [n.label.plain for n in tree.root.children]
        assert top[0].startswith("version  model@v")
        assert any(t.startswith("promoted from  staging  (") for t in top)
        record = _node(tree, "lineage record")
        assert any(n.label.plain.startswith("sha256  ") for n in record.children)
        assert not any(n.label.plain.startswith("!") for n in record.children)
