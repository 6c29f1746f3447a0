"""Reproducing a model: its commit in a temporary work tree, the registry's training command,
and the new model's hash and metrics against the recorded ones.

The work tree is an export of the model's commit into a temporary folder (LFS files with
their content): the repository itself is never touched, bare or not. The model file and its
lineage record are left out, so the command must write them again. The command comes from
``[registry] train`` in that commit's `mlvc.toml` (else prod's), and runs with the folder of
the running Python first on PATH and MLVC_REPO, MLVC_BRANCH, MLVC_COMMIT, MLVC_MODEL set.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import stat as st
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from mlvc_tui.engine import metrics as metric_files
from mlvc_tui.engine.config import parse_config
from mlvc_tui.engine.errors import BadInput, Refused
from mlvc_tui.engine.git.blobio import CHUNK
from mlvc_tui.engine.git.files import checkout_blob, open_read, pointer_at, stat
from mlvc_tui.engine.git.objects import GITLINK
from mlvc_tui.engine.git.paths import safe_target
from mlvc_tui.engine.git.worktree import worktree_metrics_files
from mlvc_tui.engine.lineage import record_path
from mlvc_tui.engine.values import MetricDelta, Metrics, Storage, Verdict

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["Reproduction", "export_tree", "reproduce", "training_command"]


@dataclass(frozen=True, slots=True)
class Reproduction:
    """A model trained again from its commit, against what that commit recorded."""

    branch: str
    commit: str  # the commit that last changed the model
    model: str
    command: str
    recorded_sha256: str
    reproduced_sha256: str | None  # None: the command did not write the model
    metrics: tuple[MetricDelta, ...]  # recorded (a) against reproduced (b)
    tolerance: float = 0.0
    workdir: str | None = None  # kept for inspection when asked

    @property
    def model_match(self) -> bool:
        return self.reproduced_sha256 == self.recorded_sha256

    @property
    def mismatched(self) -> tuple[MetricDelta, ...]:
        """Metrics that differ by more than the tolerance (or exist on one side only)."""
        return tuple(r for r in self.metrics if not _close(r, self.tolerance))

    @property
    def match(self) -> bool:
        return self.model_match and not self.mismatched


def _close(row: MetricDelta, tolerance: float) -> bool:
    if row.verdict is Verdict.SAME:
        return True
    a, b = row.a, row.b
    if a is None or b is None:
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(b - a) <= tolerance


def training_command(reg: Registry, tree: str) -> str | None:
    """``[registry] train`` of `mlvc.toml` in a tree, else of the registry's own settings."""
    hit = reg.objects.lookup(tree, "mlvc.toml")
    for config in ((parse_config(reg.objects.blob(hit[1])) if hit else None), reg.config):
        table = config.raw.get("registry", {}) if config else {}
        command = table.get("train") if isinstance(table, dict) else None
        if command is not None:
            if not isinstance(command, str) or not command.strip():
                raise BadInput("mlvc.toml: registry.train must be a command (a string)")
            return command
    return None


def export_tree(
    reg: Registry, tree: str, dest: Path, skip: frozenset[str] = frozenset()
) -> list[str]:
    """Write every file of a tree below ``dest`` (LFS files with their content, in chunks);
    what could not be written as in a checkout, as warnings."""
    warnings = []
    for path, entry in sorted(reg.objects.checked_files(tree).items()):
        if path in skip:
            continue
        target = safe_target(dest, path, entry.mode)
        if entry.mode == GITLINK:
            target.mkdir(exist_ok=True)
            warnings.append(f"{path} is a submodule: left empty")
        elif st.S_ISLNK(entry.mode):
            os.symlink(reg.objects.blob(entry.sha).decode("utf-8", "surrogateescape"), target)
        else:
            checkout_blob(reg, entry.sha, target, smudge=True)
            if entry.mode & 0o111:
                os.chmod(target, 0o755)
            size = target.stat().st_size
            if pointer_at(reg, tree, path, entry.sha, size) is not None:
                warnings.append(f"{path}: its LFS object is not here, the pointer was written")
    return warnings


def _sha256(read: IO[bytes]) -> str:
    digest = hashlib.sha256()
    with read:
        while chunk := read.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _tree_metrics(reg: Registry, tree: str, stem: str | None) -> Metrics:
    hit = reg.objects.lookup(tree, "metrics")
    found = []
    if hit is not None and st.S_ISDIR(hit[0]):
        for path, entry in reg.objects.files(hit[1]).items():
            if path.lower().endswith(metric_files.METRIC_SUFFIXES) and not entry.is_gitlink:
                found.append((f"metrics/{path}", reg.objects.blob(entry.sha)))
    return metric_files.merge_files(found, stem)


def _run(command: str, cwd: Path, env: dict[str, str], output: IO[str] | None) -> None:
    with tempfile.TemporaryFile() as log:
        sink = output if output is not None else log
        done = subprocess.run(
            command,
            shell=True,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            check=False,
        )
        if done.returncode != 0:
            log.seek(0)
            tail = [line for line in log.read().decode("utf-8", "replace").splitlines() if line]
            last = f": {tail[-1][:200]}" if tail else ""
            raise Refused(
                f"the training command `{command}` failed (exit {done.returncode})"
                f"{last}; nothing to compare"
            )


def reproduce(
    reg: Registry,
    branch: str,
    model: str | None = None,
    *,
    command: str | None = None,
    tolerance: float = 0.0,
    output: IO[str] | None = None,
    keep: bool = False,
) -> Reproduction:
    """Train a branch's model again from the commit that made it and compare the results."""
    lineage = reg.lineage(model, branch)
    path, commit = lineage.model, lineage.version.commit.id
    tree = reg.objects.commit(commit)[1]
    command = command or training_command(reg, tree)
    if not command:
        raise BadInput(
            'no training command: set `train = "..."` under [registry] in '
            "mlvc.toml, or pass --command"
        )
    recorded = stat(reg, commit, path)
    recorded_sha = (
        recorded.id if recorded.storage is Storage.LFS else _sha256(open_read(reg, commit, path))
    )
    stem = Path(path).name.split(".", 1)[0]
    workdir = Path(tempfile.mkdtemp(prefix="mlvc-reproduce-"))
    try:
        export_tree(reg, tree, workdir, frozenset({path, record_path(path)}))
        bindir = os.path.dirname(sys.executable)
        env = {
            **os.environ,
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
            "MLVC_REPO": str(reg.root),
            "MLVC_BRANCH": branch,
            "MLVC_COMMIT": commit,
            "MLVC_MODEL": path,
        }
        _run(command, workdir, env, output)
        target = workdir / path
        reproduced_sha = _sha256(target.open("rb")) if target.is_file() else None
        before = _tree_metrics(reg, tree, stem)
        after = metric_files.merge_files(worktree_metrics_files(workdir), stem)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    rows = metric_files.diff_metrics(before, after, reg.config)
    return Reproduction(
        lineage.branch,
        commit,
        path,
        command,
        recorded_sha,
        reproduced_sha,
        rows,
        tolerance,
        str(workdir) if keep else None,
    )
