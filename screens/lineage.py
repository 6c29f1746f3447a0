"""Lineage: a tree from a model version down to the code, data, config and parameters that
made it, its lineage record, and back through earlier versions and the branch it came from.

``LineageScreen(branch, model=None)``. Keys: ``enter`` opens or closes a node, ``e`` opens
every node, ``esc`` goes back.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from mlvc_tui import present
from mlvc_tui.engine import CommitInfo, Lineage, ModelVersion, Registry, Storage
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import GOOD, LOCAL
from mlvc_tui.widgets.fit_footer import FitFooter

from .reloading import ReadingScreen

__all__ = ["LineageScreen", "LineageView", "gather"]

BRANCH_SEARCH_DEPTH = 200  # commits of each branch searched for a merged commit
_RECORD_LABELS = {"sha256": "sha256", "code_commit": "code commit", "python": "python"}


@dataclass(frozen=True, slots=True)
class LineageView:
    """A lineage, with names for the commits it mentions."""

    lineage: Lineage
    merged_names: dict[str, str | None]  # merged commit -> branch that has it, if any
    tags: dict[str, tuple[str, ...]]  # commit -> tags pointing at it


def gather(reg: Registry, branch: str, model: str | None) -> LineageView:
    """Everything the lineage screen shows, read in one engine call."""
    lin = reg.lineage(model, branch)
    merged = {
        sha: reg.branch_having(sha, exclude=branch, depth=BRANCH_SEARCH_DEPTH)
        for sha in lin.merged_from
    }
    return LineageView(lin, merged, reg.tags_by_commit())


def _pair(name: str, value: str, style: str = "") -> Text:
    return Text.assemble((f"{visible(name)}  ", "bold"), (visible(value), style))


def _version_label(v: ModelVersion, tags: tuple[str, ...]) -> Text:
    text = Text()
    if tags:
        text.append(f"{', '.join(visible(t) for t in tags)}  ", style="bold cyan")
    text.append(f"{v.commit.short_id}  {present.utc_date(v.commit.time)}  ", style="dim")
    text.append(visible(v.commit.summary))
    return text


class LineageTree(Tree[None]):
    """The lineage tree, with vim keys and an ``enter`` the footer shows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open/close"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("l", "expand_node", "Open", show=False),
        Binding("h", "collapse_or_parent", "Close", show=False),
    ]

    def render_label(self, node: TreeNode[None], base_style: Style, style: Style) -> Text:
        """A node's label, ending in "…" where it would run past the right edge (the tree
        never scrolls sideways; a commit's whole message is one level down)."""
        text = super().render_label(node, base_style, style)
        depth, parent = 0, node.parent
        while parent is not None:
            depth, parent = depth + 1, parent.parent
        # The scrollbar's room is kept whether it shows or not: lines are cached by width.
        room = self.size.width - self.styles.scrollbar_size_vertical - depth * self.guide_depth
        if room > 1 and text.cell_len > room:
            text.truncate(room, overflow="ellipsis")
        return text

    def action_expand_node(self) -> None:
        """Called on l: open the node under the cursor."""
        if self.cursor_node is not None:
            self.cursor_node.expand()

    def action_collapse_or_parent(self) -> None:
        """Called on h: close the node, or go to its parent when it is closed."""
        node = self.cursor_node
        if node is not None and node.is_expanded and node.allow_expand:
            node.collapse()
        else:
            self.action_cursor_parent()


class LineageScreen(ReadingScreen[LineageView]):
    """Where a branch's model came from."""

    CSS_PATH = "lineage.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("e", "expand_all", "Open all"),
        Binding("enter", "toggle_cursor", "Open/close", show=False),  # for help; the tree's
    ]

    def __init__(self, branch: str, model: str | None = None) -> None:
        super().__init__()
        self.branch, self.model = branch, model
        self.view: LineageView | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        tree = LineageTree(Text("lineage"), id="tree")
        tree.show_root = True
        yield tree
        yield Static(id="message")
        yield FitFooter()

    def on_mount(self) -> None:
        """Called when the screen opens: read the lineage (unless it was closed already)."""
        with contextlib.suppress(NoMatches):  # esc pressed before the screen finished opening
            self.reload()

    def reading(self, refresh: bool) -> None:
        """As a read starts: the title, and the tree loading."""
        title = Text.assemble(("Lineage  ", "bold"))
        title.append(visible(self.model or "model"))
        title.append(" on ", style="bold")
        title.append(visible(self.branch))
        self.query_one("#title", Static).update(title)
        self.query_one(Tree).loading = True

    def read(self, reg: Registry) -> LineageView:
        """On the worker's thread: the lineage and the names of the commits it mentions."""
        return gather(reg, self.branch, self.model)

    def failed(self, message: str) -> None:
        """Say why there is no lineage to show."""
        tree = self.query_one(Tree)
        tree.loading, tree.display = False, False
        self.query_one("#message", Static).update(Text.assemble(("! ", "bold"), visible(message)))
        self.query_one("#message", Static).display = True

    def loaded(self, view: LineageView) -> None:
        """Show the lineage a worker has read."""
        self.view = view
        lin = view.lineage
        title = Text.assemble(("Lineage  ", "bold"))
        title.append(visible(lin.model))
        title.append(" on ", style="bold")
        title.append(visible(self.branch))
        self.query_one("#title", Static).update(title)
        self.query_one("#message", Static).display = False
        tree = self.query_one(Tree)
        tree.loading, tree.display = False, True
        self._fill(tree, view)
        tree.focus()

    # -- the tree --------------------------------------------------------------------------

    def _fill(self, tree: Tree[None], view: LineageView) -> None:
        lin = view.lineage
        tree.clear()
        art = lin.version.artifact
        root = tree.root
        label = Text.assemble((visible(lin.model), "bold"))
        label.append(f"  {art.id[:8]}  {present.size(art.size)}")
        if art.storage is not Storage.BLOB:
            label.append(f"  {present.storage_mark(art.storage)}", style=f"bold {LOCAL}")
        root.set_label(label)
        if lin.tags:
            root.add_leaf(_pair("version", ", ".join(lin.tags), "bold cyan"))
        self._commit(root, "commit", lin.version.commit)
        for sha, name in view.merged_names.items():
            text = Text.assemble(("promoted from  ", "bold"))
            text.append(visible(name) if name else sha[:8], style=f"bold {GOOD}" if name else "")
            if name:
                text.append(f"  ({sha[:8]})", style="dim")
            root.add_leaf(text)
        root.add_leaf(_pair("code", f"src/  tree {lin.code[:8]}" if lin.code else "no src/"))
        self._ids(root, "data", lin.data)
        self._ids(root, "config", lin.config)
        self._mapping(root, "parameters", lin.params)
        self._record(root, lin)
        self._previous(root, view)
        root.expand()

    @staticmethod
    def _commit(parent: TreeNode[None], name: str, commit: CommitInfo) -> None:
        text = _pair(name, f"{commit.short_id}  {present.utc_date(commit.time)}  {commit.author}")
        node = parent.add(text, expand=False)
        for line in commit.message.rstrip("\n").split("\n"):
            node.add_leaf(Text(visible(line)))

    @staticmethod
    def _ids(parent: TreeNode[None], name: str, ids: dict[str, str]) -> None:
        node = parent.add(_pair(name, f"({len(ids)})", "dim"), expand=False, allow_expand=bool(ids))
        for path, sha in sorted(ids.items()):
            text = Text(visible(path))
            text.append(f"  {sha[:8]}", style="dim")
            node.add_leaf(text)

    @classmethod
    def _mapping(
        cls, parent: TreeNode[None], name: str, values: object, expand: bool = False
    ) -> None:
        if not isinstance(values, dict | list):
            parent.add_leaf(_pair(name, str(values)))
            return
        items = values.items() if isinstance(values, dict) else enumerate(values)
        node = parent.add(
            _pair(name, f"({len(values)})", "dim"), expand=expand, allow_expand=bool(values)
        )
        for key, value in items:
            cls._mapping(node, str(key), value)

    def _record(self, root: TreeNode[None], lin: Lineage) -> None:
        record = lin.record
        if record is None:
            root.add_leaf(Text("no lineage record (saved without the mlvc API)", style="dim"))
            return
        node = root.add(_pair("lineage record", record.path), expand=self.size.height >= 36)
        if record.error:
            node.add_leaf(Text("! " + visible(record.error), style="bold"))
        size, real = record.fields.get("size"), lin.version.artifact.size
        if isinstance(size, int) and real is not None and size != real:
            node.add_leaf(
                Text(
                    f"! written for other bytes: the record says {size} B, the model is {real} B",
                    style="bold",
                )
            )
        for key, value in record.fields.items():
            label = _RECORD_LABELS.get(key, key.replace("_", " "))
            self._mapping(node, label, value)

    @staticmethod
    def _previous(root: TreeNode[None], view: LineageView) -> None:
        versions = view.lineage.previous
        node = root.add(
            _pair("earlier versions", f"({len(versions)})", "dim"),
            expand=True,
            allow_expand=bool(versions),
        )
        for v in versions:
            item = node.add(_version_label(v, view.tags.get(v.commit.id, ())), expand=False)
            item.add_leaf(
                _pair(v.artifact.path, f"{v.artifact.id[:8]}  {present.size(v.artifact.size)}")
            )
            item.add_leaf(_pair("author", v.commit.author))

    # -- actions ---------------------------------------------------------------------------

    def action_back(self) -> None:
        """Called on escape: back to the previous screen."""
        self.dismiss()

    def action_toggle_cursor(self) -> None:
        """Called on enter when the tree is not focused: open or close its cursor node."""
        self.query_one(LineageTree).action_select_cursor()

    def action_expand_all(self) -> None:
        """Called on e: open every node."""
        self.query_one(Tree).root.expand_all()
