"""A tree read as artifacts, in pieces shared between trees, with bounded caches.

Each folder's runs of files are one piece and its subfolders their own pieces, cached by
(path, tree id, LFS rules): a branch that changed one file adds only the folders on that
file's path, so cost follows the distinct trees, not branches x files. ``models/`` holding
folder models (an ``MLmodel`` file, or a lineage record beside the folder) is one piece in
which each folder model is one artifact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from sys import intern

from mlvc_tui.engine.config import RegistryConfig
from mlvc_tui.engine.git.attributes import LfsPaths
from mlvc_tui.engine.git.objects import GITLINK, ObjectReader
from mlvc_tui.engine.values import Artifact, Storage

__all__ = ["ARTIFACT_CELLS", "ArtifactIndex"]

ARTIFACT_CELLS = 300_000  # artifacts kept in whole-tree dicts before starting afresh
_SEGMENTS = 200_000  # cached lists of pieces (and Artifact values) before starting afresh
_SEGMENT_CELLS = 400_000  # artifacts held in cached folder pieces; beyond, built per use

Piece = dict[str, Artifact]


def _folder_models(files: dict[str, tuple[int, str]]) -> list[str]:
    """Folders under ``models/`` that are one model: they hold an ``MLmodel`` file, or a
    lineage record ``models/<name>.lineage.json`` sits beside ``models/<name>/``."""
    out = set()
    for path in files:
        if not path.startswith("models/"):
            continue
        folder, _, name = path.rpartition("/")
        if name == "MLmodel" and folder != "models":
            out.add(folder)
        elif name.endswith(".lineage.json"):
            candidate = f"{folder}/{name.removesuffix('.lineage.json')}"
            if any(p.startswith(f"{candidate}/") for p in files):
                out.add(candidate)
    return sorted(out, key=len, reverse=True)


class ArtifactIndex:
    """The artifacts of root trees under one configuration (its kinds and roots)."""

    def __init__(self, objects: ObjectReader) -> None:
        self.objects = objects
        self.config = RegistryConfig()
        self._lfs: dict[str, LfsPaths] = {}
        self.forget()

    def use(self, config: RegistryConfig) -> None:
        """Read with ``config`` from now on (what was read under another one is dropped)."""
        if config != self.config:
            self.forget()
        self.config = config

    def forget(self) -> None:
        """Drop every cached artifact (LFS rules stay: they are keyed by blob id)."""
        self._artifacts: dict[str, Piece] = {}
        self._artifact_cells = 0
        self._segments: dict[tuple[str, str, str], tuple[Piece, ...]] = {}
        self._segment_lists: dict[str, tuple[Piece, ...]] = {}
        self._segment_cells = 0
        self._all_kept = True
        self._kinds: dict[str, str | None] = {}  # path -> kind under the current config
        self._made: dict[tuple[str, str, bool], Artifact] = {}  # one value per path and blob
        self._model_marks: dict[str, bool] = {}  # tree id -> holds MLmodel / *.lineage.json

    def of_tree(self, tree: str, segments: tuple[Piece, ...] | None = None) -> Piece:
        """The artifacts below a root tree, by path (cached by tree id); ``segments`` are
        its pieces when the caller has them already."""
        hit = self._artifacts.get(tree)
        if hit is not None:
            return hit
        out: Piece = {}
        for segment in self.segments(tree) if segments is None else segments:
            out.update(segment)
        if self._artifact_cells > ARTIFACT_CELLS:  # bounded by cells, not trees
            self._artifacts.clear()
            self._artifact_cells = 0
        self._artifacts[tree] = out
        self._artifact_cells += len(out) + 1
        return out

    def segments(self, tree: str) -> tuple[Piece, ...]:
        """A root tree's artifacts in pieces, in tree order. Pieces are shared: never
        change one."""
        hit = self._segment_lists.get(tree)
        if hit is not None:
            return hit
        roots = self.config.artifact_roots
        lfs = self.lfs_paths(tree)
        entries = [e for e in self.objects.tree(tree) if roots is None or e[0] in roots]
        self._all_kept = True
        found = self._pieces("", entries, lfs, lfs.key if lfs else "")
        if self._all_kept:  # a list holding pieces left uncached would keep them alive
            if len(self._segment_lists) > _SEGMENTS:
                self._segment_lists.clear()
            self._segment_lists[tree] = found
        return found

    def lfs_paths(self, tree: str) -> LfsPaths:
        """The LFS patterns of a tree's root `.gitattributes` (cached by blob id)."""
        hit = self.objects.lookup(tree, ".gitattributes")
        key = hit[1] if hit else ""
        found = self._lfs.get(key)
        if found is None:
            found = self._lfs[key] = LfsPaths(self.objects.blob(key) if key else None)
        return found

    def _folder(self, path: str, sha: str, lfs: LfsPaths, lfs_key: str) -> tuple[Piece, ...]:
        key = (path, sha, lfs_key)
        hit = self._segments.get(key)
        if hit is None and path == "models" and self._names_model_files(sha):
            hit = self._models_folder(sha, lfs)
        if hit is None:
            hit = self._pieces(path + "/", self.objects.tree(sha), lfs, lfs_key)
            cells = sum(len(p) for p in hit)
            if self._segment_cells + cells > _SEGMENT_CELLS:
                self._all_kept = False  # over budget: built again when needed
            else:
                self._segments[key] = hit
                self._segment_cells += cells
        return hit

    def _pieces(
        self, prefix: str, entries: Iterable[tuple[str, int, str]], lfs: LfsPaths, lfs_key: str
    ) -> tuple[Piece, ...]:
        pieces: list[Piece] = []
        run: list[tuple[str, int, str]] = []
        for name, mode, sha in entries:
            if mode & 0o170000 == 0o040000:
                if run:
                    pieces.append(self._piece(run, lfs))
                    run = []
                pieces.extend(self._folder(prefix + name, sha, lfs, lfs_key))
            else:  # one str per path, however many trees and pieces hold it
                run.append((intern(prefix + name), mode, sha))
        if run:
            pieces.append(self._piece(run, lfs))
        return tuple(p for p in pieces if p)

    def _piece(self, files: list[tuple[str, int, str]], lfs: LfsPaths) -> Piece:
        any_lfs = bool(lfs)
        kinds, made = self._kinds, self._made
        out: Piece = {}
        for path, mode, sha in files:
            kind = kinds.get(path, "")
            if kind == "":
                kind = kinds[path] = self.config.kind_of(path) or (
                    "data" if path == "data" else None
                )
            if kind is None:
                continue
            maybe_lfs = any_lfs and lfs.match(path)
            art = made.get((path, sha, maybe_lfs))
            if art is None:
                if mode == GITLINK:
                    art = Artifact(path, kind, sha, sha, None, Storage.SUBMODULE)
                else:
                    info = self.objects.blob_info(sha, maybe_lfs)
                    art = Artifact(path, kind, info.id, sha, info.size, info.storage)
                if len(made) > _SEGMENTS * 4:
                    made.clear()
                made[(path, sha, maybe_lfs)] = art
            out[path] = art
        return out

    def _names_model_files(self, tree: str) -> bool:
        """Whether an ``MLmodel`` file or a lineage record is anywhere below a tree (cached
        per subtree): without one, ``models/`` holds no folder model and is read as files."""
        hit = self._model_marks.get(tree)
        if hit is None:
            hit = False
            for name, mode, sha in self.objects.tree(tree):
                if mode & 0o170000 == 0o040000:
                    hit = self._names_model_files(sha)
                else:
                    hit = name == "MLmodel" or name.endswith(".lineage.json")
                if hit:
                    break
            if len(self._model_marks) > _SEGMENTS:
                self._model_marks.clear()
            self._model_marks[tree] = hit
        return hit

    def _models_folder(self, sha: str, lfs: LfsPaths) -> tuple[Piece, ...] | None:
        """``models/`` as one piece when it holds folder models (each one artifact, its sizes
        summed, its id the manifest sha256 of its lineage record); None when it holds none."""
        files = {f"models/{p}": (e.mode, e.sha) for p, e in self.objects.files(sha).items()}
        folders = _folder_models(files)
        if not folders:
            return None
        single = self._piece([(p, mode, s) for p, (mode, s) in files.items()], lfs)
        out: Piece = {}
        for path, art in single.items():
            folder = next((f for f in folders if path.startswith(f"{f}/")), None)
            if folder is None:
                out[path] = art
                continue
            seen = out.get(folder)
            size = (seen.size or 0) + (art.size or 0) if seen else art.size
            lfs_any = art.storage is Storage.LFS or (seen and seen.storage is Storage.LFS)
            storage = Storage.LFS if lfs_any else Storage.BLOB
            out[folder] = Artifact(folder, art.kind, "", "", size, storage)
        for folder in folders:
            if folder in out:
                hit = self.objects.lookup(sha, folder.removeprefix("models/"))
                tree_id = hit[1] if hit else ""
                art = out[folder]
                ident = self._folder_id(files, folder) or tree_id
                out[folder] = Artifact(folder, art.kind, ident, tree_id, art.size, art.storage)
        return (out,)

    def _folder_id(self, files: dict[str, tuple[int, str]], folder: str) -> str | None:
        """A folder model's manifest sha256, from its lineage record (None without one)."""
        stem, _, name = folder.rpartition("/")
        record = files.get(f"{stem}/{name}.lineage.json")
        if record is None:
            return None
        try:
            doc = json.loads(self.objects.blob(record[1])[: 1 << 20])
        except ValueError:
            return None
        value = doc.get("sha256") if isinstance(doc, dict) else None
        return value if isinstance(value, str) else None
