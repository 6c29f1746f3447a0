"""The command palette (ctrl+p): every action of the app by name, one entry per branch.

Branch names are repository text: hits are built with `Content` (never markup), so a branch
called ``exp/[bold]x[/bold]`` is offered literally.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Matcher, Provider
from textual.content import Content

from mlvc_tui.safetext import visible

if TYPE_CHECKING:
    from mlvc_tui.app import MlvcApp

__all__ = ["MlvcCommands", "PaletteCommand", "palette_commands"]


@dataclass(frozen=True, slots=True)
class PaletteCommand:
    """One entry of the palette: what the user reads, what it does, a line of help."""

    title: str
    run: Callable[[], object]
    help: str


def palette_commands(app: MlvcApp) -> list[PaletteCommand]:
    """Every palette entry for the branches the grid last showed."""
    out = [
        PaletteCommand("Refresh", app.refresh_registry, "Re-read branches and reload"),
        PaletteCommand("Help", app.action_help, "Show every key of every screen"),
        PaletteCommand(
            "A/B test and traffic split",
            app.open_ab,
            "Each variant's results against control; step, abort or flip",
        ),
        PaletteCommand(
            "Versions of prod",
            partial(app._push, "versions", "VersionsScreen"),
            "Every promotion, rollback and version tag, newest first",
        ),
        PaletteCommand(
            "Roll back prod",
            partial(app._push, "rollback", "RollbackScreen"),
            "Restore the version before the current one, as a new commit",
        ),
    ]
    prod = app.prod
    for name in app.branch_names:
        shown = visible(name)
        out.append(
            PaletteCommand(
                f"Open branch {shown}",
                partial(app.open_branch, name),
                "Artifacts, commits and metrics of the branch",
            )
        )
        if prod is not None and name != prod:
            out.append(
                PaletteCommand(
                    f"Diff {shown} against {visible(prod)}",
                    partial(app.open_diff, name),
                    "Every metric of the branch next to prod's",
                )
            )
            out.append(
                PaletteCommand(
                    f"Promote {shown} into {visible(prod)}",
                    partial(app._push, "promote", "PromoteScreen", name),
                    "The gates, the version it would get, then enter to merge",
                )
            )
        out.append(
            PaletteCommand(
                f"Lineage of {shown}",
                partial(app.open_lineage, name),
                "The commit, code, data and config that made the branch's model",
            )
        )
        out.append(
            PaletteCommand(
                f"Drift of {shown}",
                partial(app.open_drift, name),
                "The branch's monitoring/drift.csv, alerts first",
            )
        )
    return out


def _highlight(matcher: Matcher, candidate: str) -> Content:
    """The candidate with matched letters styled, without reading it as markup."""
    content = Content(candidate)
    score, offsets = matcher.fuzzy_search.match(matcher.query, candidate)
    if score:
        for offset in offsets:
            if not candidate[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class MlvcCommands(Provider):
    """Offers "Open branch X", "Diff X against prod", "Lineage of X", "Drift of X", ..."""

    def _commands(self) -> list[PaletteCommand]:
        app = self.app
        return palette_commands(cast("MlvcApp", app)) if hasattr(app, "open_branch") else []

    async def discover(self) -> AsyncIterator[DiscoveryHit]:
        """Called when the palette opens with an empty query: list every command."""
        for command in self._commands():
            yield DiscoveryHit(Content(command.title), command.run, command.title, command.help)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        """Called for each keystroke in the palette: fuzzy-match the command titles."""
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    _highlight(matcher, command.title),
                    command.run,
                    command.title,
                    command.help,
                )
