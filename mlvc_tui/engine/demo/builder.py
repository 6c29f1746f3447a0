"""In-memory builder of the demo registry's git objects: commits, merges, tags, training.

Used by :mod:`mlvc_tui.engine.demo.build`; nothing here touches the disk.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from mlvc_tui.engine.demo import data as dd
from mlvc_tui.engine.demo import train as demo_train
from mlvc_tui.engine.git.memory import DIR_MODE, FILE_MODE, MemoryObjects

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
ANA = ("Ana Ruiz <ana@example.com>", 7200)
BEN = ("Ben Okafor <ben@example.com>", 3600)
CHEN = ("Chen Wei <chen@example.com>", 28800)
CI = ("mlvc-ci[bot] <ci-bot@example.com>", 0)
PACKAGES = {"numpy": "2.1.3", "pyyaml": "6.0.2"}
_FLAGS = (b"STRATIFIED_SPLIT = True", b"WRITE_HISTORY = True")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """``day`` days after START, at ``hour:minute`` UTC."""
    return START.replace(hour=hour, minute=minute) + timedelta(days=day)


def code(pipeline: int) -> bytes:
    """``src/train.py``: pipeline 1 predates the stratified split and the history file."""
    text = Path(demo_train.__file__).read_bytes()
    if pipeline == 1:
        for flag in _FLAGS:
            text = text.replace(flag, flag.replace(b"True", b"False"), 1)
    return text


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class Builder:
    """Commits, trees, tags and trained models of the demo, all in memory."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.objects = MemoryObjects()
        self.blobs: dict[bytes, bytes] = {}  # content -> blob id
        self.files: dict[bytes, dict[str, bytes]] = {}  # commit -> path -> content
        self.parents: dict[bytes, tuple[bytes, ...]] = {}
        self.heads: dict[str, bytes] = {}
        self.tags: dict[str, bytes] = {}
        self.models: dict[bytes, dict[str, Any]] = {}  # pickled bytes -> model dict
        self.runs: dict[str, dict[str, Any]] = {}  # branch -> its last training run
        self.job = 4100

    def blob(self, data: bytes) -> bytes:
        if data not in self.blobs:
            self.blobs[data] = self.objects.blob(data)
        return self.blobs[data]

    def _tree(self, node: dict[str, Any]) -> bytes:
        entries = [
            (name, DIR_MODE, self._tree(value))
            if isinstance(value, dict)
            else (name, FILE_MODE, self.blob(value))
            for name, value in node.items()
        ]
        return self.objects.tree(entries)

    def commit(
        self,
        branch: str,
        who: tuple[str, int],
        when: datetime,
        message: str,
        changes: dict[str, bytes | None] | None = None,
        merged: tuple[bytes, dict[str, bytes]] | None = None,
    ) -> bytes:
        """Commit ``changes`` (None deletes) on ``branch``, or a merge of ``merged``."""
        head = self.heads.get(branch)
        parents: tuple[bytes, ...] = (head,) if head else ()
        files = dict(self.files[head]) if head else {}
        if merged:
            parents, files = (*parents, merged[0]), merged[1]
        for path, data in (changes or {}).items():
            if data is None:
                files.pop(path, None)
            else:
                files[path] = data
        nested: dict[str, Any] = {}
        for path, data in files.items():
            *dirs, name = path.split("/")
            node = nested
            for part in dirs:
                node = node.setdefault(part, {})
            node[name] = data
        tree = self._tree(nested)
        cid = self.objects.commit(
            tree, list(parents), who[0], int(when.timestamp()), who[1], message
        )
        self.files[cid], self.parents[cid], self.heads[branch] = files, parents, cid
        return cid

    def branch(self, name: str, start: str) -> None:
        self.heads[name] = self.heads[start]

    def _ancestors(self, cid: bytes) -> set[bytes]:
        seen, todo = set(), [cid]
        while todo:
            c = todo.pop()
            if c not in seen:
                seen.add(c)
                todo.extend(self.parents[c])
        return seen

    def merge(
        self, into: str, source: str, who: tuple[str, int], when: datetime, message: str
    ) -> bytes:
        """A real three-way merge, file by file; conflicts keep ours under monitoring/."""
        ours, theirs = self.heads[into], self.heads[source]
        common = self._ancestors(ours) & self._ancestors(theirs)
        base = min(c for c in common if not any(c in self._ancestors(o) - {o} for o in common))
        b, o, t = self.files[base], self.files[ours], self.files[theirs]
        files = {}
        for path in sorted(set(b) | set(o) | set(t)):
            bv, ov, tv = b.get(path), o.get(path), t.get(path)
            value = tv if ov == bv else ov if tv == bv or path.startswith("monitoring/") else tv
            if value is not None:
                files[path] = value
        return self.commit(into, who, when, message, merged=(theirs, files))

    def tag(self, version: str, when: datetime, message: str) -> None:
        """Annotated tag ``model@<version>`` on prod's head, by the CI bot."""
        name = f"model@{version}"
        self.tags[name] = self.objects.tag(
            name, self.heads["prod"], CI[0], int(when.timestamp()), CI[1], message
        )

    def metric(self, branch: str, key: str = "accuracy") -> float:
        return float(json.loads(self.files[self.heads[branch]]["metrics/model.json"])[key])

    def train(self, branch: str, when: datetime) -> bytes:
        """Run the branch's own src/train.py logic on its params and data; commit as CI."""
        head = self.heads[branch]
        files = self.files[head]
        params = yaml.safe_load(files["params.yaml"])
        code = files["src/train.py"]
        table = demo_train.read_table(files["data/train.csv"].decode())
        run = demo_train.train(
            params, table, stratified=_FLAGS[0] in code, history=_FLAGS[1] in code
        )
        model = demo_train.model_bytes(run["model"])
        self.models[model], self.runs[branch] = run["model"], run
        self.job += 1
        started = when - timedelta(minutes=9)
        header = [f"ci job #{self.job}: python src/train.py on {head.decode()[:8]} ({branch})"]
        log = demo_train.log_text(header + run["log"], started, timedelta(seconds=2))
        m = run["metrics"]
        lineage = {
            "sha256": hashlib.sha256(model).hexdigest(),
            "size": len(model),
            "format": "pickle",
            "code_commit": head.decode(),
            "data": {"data/train.csv": self.blob(files["data/train.csv"]).decode()},
            "params": params,
            "metrics": m,
            "python": "3.11",
            "packages": PACKAGES,
            "command": "python src/train.py",
            "user": "ci-bot",
            "time": iso(started),
        }
        changes: dict[str, bytes | None] = {
            "models/model.pkl": model,
            "metrics/model.json": demo_train.metrics_bytes(m),
            "models/model.lineage.json": (json.dumps(lineage, indent=2) + "\n").encode(),
            "logs/train.log": files.get("logs/train.log", b"") + log.encode(),
        }
        if _FLAGS[1] in code:
            changes["metrics/train_history.csv"] = demo_train.history_bytes(run["history"])
        rows = len(table["churned"])
        message = (
            f"Retrain model on {head.decode()[:8]} ({branch})\n\n"
            f"{params.get('model', 'logistic')}, {len(params['features'])} features, "
            f"{rows} rows, lr={params['lr']} epochs={params['epochs']} l2={params['l2']}\n"
            f"accuracy {m['accuracy']:.4f}  f1 {m['f1']:.4f}  auc {m['auc']:.4f}  "
            f"loss {m['loss']:.4f}\n\nci job #{self.job}"
        )
        return self.commit(branch, CI, when, message, changes)

    def monitor(
        self,
        branch: str,
        when: datetime,
        hot: dict[str, float],
        shift: float,
        arm: tuple[str, datetime, float] | None = None,
    ) -> bytes:
        """Commit the branch's deployment monitoring (drift, predictions, A/B results)."""
        files = self.files[self.heads[branch]]
        model = self.models[files["models/model.pkl"]]
        self.job += 1
        seed = self.seed * 10_000 + self.job
        hours = min(250, int((when - at(0, 10)).total_seconds() // 3600))
        drift, alerts = dd.drift_csv(seed, model["features"], when, hot, hours)
        changes: dict[str, bytes | None] = {
            "monitoring/drift.csv": drift,
            "monitoring/predictions.csv": dd.predictions_csv(seed, model, when, shift, hours),
        }
        if arm:
            changes["monitoring/experiments/results.csv"] = dd.ab_results_csv(
                self.seed * 10, branch, arm[1], when
            )
        first = when.replace(minute=0) - timedelta(hours=hours - 1)
        message = (
            f"monitoring: {branch} drift and predictions, {first:%Y-%m-%d %H:00} to "
            f"{when:%Y-%m-%d %H:00} UTC\n\n{alerts} drift alert(s); ci job #{self.job}"
        )
        return self.commit(branch, CI, when, message, changes)

    def promote(
        self, source: str, version: str, when: datetime, who: tuple[str, int], why: str
    ) -> None:
        """Merge ``source`` into prod and tag the merge, as a promotion does."""
        before, after = self.metric("prod"), self.metric(source)
        summary = f"accuracy {before:.4f} -> {after:.4f}"
        self.merge(
            "prod",
            source,
            who,
            when,
            f"Promote {source} to prod: {why}\n\n{summary} (model@{version})",
        )
        self.tag(
            version,
            when + timedelta(minutes=2),
            f"model {version}: promoted {source} "
            f"({self.heads[source].decode()[:8]}) to prod\n\n{why}\n{summary}",
        )
