"""A grid row's statuses against prod, per folder piece of its tree, shared between rows."""

from __future__ import annotations

from mlvc_tui.engine.values import Artifact, ArtifactStatus

__all__ = ["RUN_CELLS", "StatusRun", "StatusRuns"]

RUN_CELLS = 50_000  # cells of status runs kept (the shared ones are used again soon)
StatusRun = dict[str, ArtifactStatus]  # one piece's cells of a row, in the row's order
_RunCache = dict[tuple[int, int], tuple[object, object, StatusRun, int]]


class StatusRuns:
    """Statuses against prod per piece of a tree (`Registry.tree_segments`), cached per
    (piece, prod) and bounded by cells: a folder many branches share is compared once."""

    def __init__(self, max_cells: int = RUN_CELLS) -> None:
        self.max_cells = max_cells
        self._runs: _RunCache = {}
        self._cells = 0

    def runs(
        self, pieces: tuple[dict[str, Artifact], ...], prod_arts: dict[str, Artifact]
    ) -> tuple[StatusRun, ...]:
        """One run per piece, in order (the missing cells are not in any). A run is the
        same object whenever the same piece is compared with the same prod: its cells
        never change (a writer may keep its text)."""
        return self.runs_in_prod(pieces, prod_arts)[0]

    def runs_in_prod(
        self, pieces: tuple[dict[str, Artifact], ...], prod_arts: dict[str, Artifact]
    ) -> tuple[tuple[StatusRun, ...], int]:
        """`runs`, and how many of the pieces' paths prod has too (when that is all of
        prod's, no cell is missing)."""
        out = []
        present = 0
        cache = self._runs
        for piece in pieces:
            key = (id(piece), id(prod_arts))
            hit = cache.get(key)
            if hit is not None and hit[0] is piece and hit[1] is prod_arts:
                out.append(hit[2])
                present += hit[3]
                continue
            run: StatusRun = {}
            new = 0
            for path, mine in piece.items():
                theirs = prod_arts.get(path)
                if theirs is None:
                    run[path] = ArtifactStatus.NEW
                    new += 1
                elif mine.id == theirs.id:
                    run[path] = ArtifactStatus.SAME
                else:
                    run[path] = ArtifactStatus.CHANGED
            if self._cells + len(run) > self.max_cells:
                cache.clear()
                self._cells = 0
            cache[key] = (piece, prod_arts, run, len(run) - new)
            self._cells += len(run)
            out.append(run)
            present += len(run) - new
        return tuple(out), present
