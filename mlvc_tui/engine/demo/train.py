"""Train the churn model by gradient descent, with numpy only.

Run ``python src/train.py`` at the root of a checkout: it reads ``params.yaml`` and
``data/train.csv`` and writes ``models/model.pkl`` (a pickled plain dict: numpy arrays,
floats, strings, no custom classes), ``metrics/model.json``, ``logs/train.log`` and, when
WRITE_HISTORY is on, ``metrics/train_history.csv``. The same inputs give the same bytes.

``params.yaml`` keys: ``model`` (``logistic`` or ``mlp``), ``lr``, ``epochs``, ``l2``,
``seed``, ``features`` and, for ``mlp``, ``hidden``. Metrics are computed on a held-out split.
``latency_ms`` is estimated from the parameter count (a fixed cost model, not a timing), so
that a run is reproducible.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

STRATIFIED_SPLIT = True  # keep the class balance in the validation split
WRITE_HISTORY = True  # write metrics/train_history.csv (step, loss, accuracy)
VALID_FRACTION = 0.25
LABEL = "churned"
THRESHOLD = 0.5
PICKLE_PROTOCOL = 4
LOG_EVERY = 25


def read_table(text: str) -> dict[str, list[str]]:
    """Columns of a CSV text, by header name."""
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    return {name: [row[i] for row in body] for i, name in enumerate(header)}


def split(y: np.ndarray, seed: int, stratified: bool) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation rows."""
    rng = np.random.default_rng(seed)
    valid = np.zeros(len(y), dtype=bool)
    groups = [np.flatnonzero(y == c) for c in (0, 1)] if stratified else [np.arange(len(y))]
    for idx in groups:
        chosen = rng.permutation(idx)[: round(len(idx) * VALID_FRACTION)]
        valid[chosen] = True
    return np.flatnonzero(~valid), np.flatnonzero(valid)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow


def _logits(w: dict[str, Any], z: np.ndarray) -> np.ndarray:
    if "hidden_weights" in w:
        z = np.tanh(z @ w["hidden_weights"] + w["hidden_bias"])
    return z @ w["weights"] + w["bias"]


def predict_proba(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Churn probability for raw feature rows ``x`` (columns in ``model["features"]``)."""
    return sigmoid(_logits(model, (x - model["mean"]) / model["scale"]))


def _logit_loss(y: np.ndarray, z: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    tp = float(np.sum((pred == 1) & (y == 1)))
    fp = float(np.sum((pred == 1) & (y == 0)))
    fn = float(np.sum((pred == 0) & (y == 1)))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"accuracy": round(float(np.mean(pred == y)), 4), "f1": round(f1, 4)}


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney); 0.5 when a class is absent."""
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if not pos or not neg:
        return 0.5
    ranks = np.empty(len(p))
    ranks[np.argsort(p, kind="mergesort")] = np.arange(1, len(p) + 1)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _fit(
    x: np.ndarray,
    y: np.ndarray,
    xv: np.ndarray,
    yv: np.ndarray,
    params: dict[str, Any],
    log: list[str],
    track: bool,
) -> tuple[dict[str, Any], list[tuple[int, float, float]]]:
    """Full-batch gradient descent; returns the weights and, with ``track``, every epoch's
    (step, training loss, validation accuracy)."""
    rng = np.random.default_rng(int(params.get("seed", 0)))
    lr, l2, epochs = float(params["lr"]), float(params.get("l2", 0.0)), int(params["epochs"])
    mlp = params.get("model", "logistic") == "mlp"
    n, d = x.shape
    w: dict[str, Any] = {"weights": np.zeros(d), "bias": 0.0}
    if mlp:
        h = int(params.get("hidden", 16))
        w = {
            "hidden_weights": rng.normal(0, 1 / np.sqrt(d), (d, h)),
            "hidden_bias": np.zeros(h),
            "weights": rng.normal(0, 1 / np.sqrt(h), h),
            "bias": 0.0,
        }
    cut = np.log(THRESHOLD / (1 - THRESHOLD))
    history = []
    # The MLP reuses two (n, hidden) buffers: fresh large temporaries each epoch are slow.
    hid, dh = (np.empty((n, len(w["weights"]))) for _ in range(2)) if mlp else (x, x)
    for epoch in range(1, epochs + 1):
        if mlp:
            np.matmul(x, w["hidden_weights"], out=hid)
            hid += w["hidden_bias"]
            np.tanh(hid, out=hid)
        z = hid @ w["weights"] + w["bias"]
        dz = (sigmoid(z) - y) / n
        if mlp:
            np.multiply(hid, hid, out=dh)
            np.subtract(1.0, dh, out=dh)
            dh *= dz[:, None]
            dh *= w["weights"]
            w["hidden_weights"] = w["hidden_weights"] - lr * (x.T @ dh + l2 * w["hidden_weights"])
            w["hidden_bias"] = w["hidden_bias"] - lr * dh.sum(axis=0)
        w["weights"] = w["weights"] - lr * (hid.T @ dz + l2 * w["weights"])
        w["bias"] = w["bias"] - lr * float(dz.sum())
        logged = epoch == 1 or epoch % LOG_EVERY == 0 or epoch == epochs
        if track or logged:
            zv = _logits(w, xv)
            loss, val_acc = _logit_loss(y, z), float(np.mean((zv >= cut) == yv))
            history.append((epoch, round(loss, 6), round(val_acc, 6)))
        if logged:
            log.append(
                f"epoch {epoch}/{epochs} loss={loss:.4f} "
                f"val_loss={_logit_loss(yv, zv):.4f} val_accuracy={val_acc:.4f}"
            )
    return w, history


def train(
    params: dict[str, Any],
    table: dict[str, list[str]],
    *,
    stratified: bool = STRATIFIED_SPLIT,
    history: bool = WRITE_HISTORY,
) -> dict[str, Any]:
    """Train on ``table``; returns ``{"model", "metrics", "history", "log"}``.

    ``history`` records every epoch (else only the logged ones)."""
    features = list(params["features"])
    x = np.array([table[f] for f in features], dtype=float).T
    y = np.array([int(v) for v in table[LABEL]], dtype=float)
    tr, va = split(y, int(params.get("seed", 0)), stratified)
    log = [
        f"loaded {len(y)} rows, {len(features)} features, positive rate {y.mean():.3f}",
        f"split: {len(tr)} train / {len(va)} validation (stratified={stratified})",
        f"model={params.get('model', 'logistic')} lr={params['lr']} epochs={params['epochs']} "
        f"l2={params.get('l2', 0.0)} seed={params.get('seed', 0)}",
    ]
    mean, scale = x[tr].mean(axis=0), x[tr].std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    weights, steps = _fit(z[tr], y[tr], z[va], y[va], params, log, history)
    model = {
        "kind": "mlp" if "hidden_weights" in weights else "logistic",
        "features": features,
        "label": LABEL,
        "threshold": THRESHOLD,
        "mean": mean,
        "scale": scale,
        **weights,
        "params": dict(params),
    }
    model["bias"] = float(model["bias"])
    metrics = evaluate(model, x[va], y[va], {k: np.array(v)[va] for k, v in table.items()})
    log.append(
        f"validation: accuracy={metrics['accuracy']:.4f} f1={metrics['f1']:.4f} "
        f"auc={metrics['auc']:.4f} loss={metrics['loss']:.4f}"
    )
    return {"model": model, "metrics": metrics, "history": steps, "log": log}


def evaluate(
    model: dict[str, Any], x: np.ndarray, y: np.ndarray, columns: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Nested metrics of ``model`` on rows ``x`` with labels ``y``; slices by region and age."""
    p = predict_proba(model, x)
    pred = (p >= model["threshold"]).astype(float)
    n_params = sum(
        np.size(model[k])
        for k in ("weights", "bias", "hidden_weights", "hidden_bias")
        if k in model
    )
    p50 = 0.18 + 0.004 * n_params
    slices = {
        "region=eu": columns["region"] == "eu",
        "region=us": columns["region"] == "us",
        "age<30": columns["age"].astype(float) < 30,
    }
    return {
        **_scores(y, pred),
        "auc": round(auc(y, p), 4),
        "loss": round(log_loss(y, p), 4),
        "latency_ms": {"p50": round(p50, 3), "p95": round(p50 * 2.4, 3)},
        "slices": {name: _scores(y[m], pred[m]) for name, m in slices.items()},
    }


def model_bytes(model: dict[str, Any]) -> bytes:
    return pickle.dumps(model, protocol=PICKLE_PROTOCOL)


def metrics_bytes(metrics: dict[str, Any]) -> bytes:
    return (json.dumps(metrics, indent=2) + "\n").encode()


def history_bytes(history: list[tuple[int, float, float]]) -> bytes:
    lines = ["step,loss,accuracy"] + [f"{s},{loss:.6f},{acc:.6f}" for s, loss, acc in history]
    return ("\n".join(lines) + "\n").encode()


def log_text(messages: list[str], start: datetime, step: timedelta) -> str:
    """Log lines ``<time> INFO train: <message>``, one ``step`` apart from ``start``."""
    return "".join(
        f"{(start + i * step):%Y-%m-%d %H:%M:%S} INFO train: {m}\n" for i, m in enumerate(messages)
    )


def main(root: str = ".") -> int:
    base = Path(root)
    params = yaml.safe_load((base / "params.yaml").read_text())
    run = train(params, read_table((base / "data/train.csv").read_text()))
    for name in ("models", "metrics", "logs"):
        (base / name).mkdir(exist_ok=True)
    (base / "models/model.pkl").write_bytes(model_bytes(run["model"]))
    (base / "metrics/model.json").write_bytes(metrics_bytes(run["metrics"]))
    if WRITE_HISTORY:
        (base / "metrics/train_history.csv").write_bytes(history_bytes(run["history"]))
    with (base / "logs/train.log").open("a") as out:
        out.write(log_text(run["log"], datetime.now(UTC), timedelta(milliseconds=40)))
    print(json.dumps(run["metrics"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
