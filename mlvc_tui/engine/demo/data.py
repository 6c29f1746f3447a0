"""Generated files of the demo registry: data, schema, params, monitoring, logs.

Everything is a pure function of its arguments (numpy generators seeded by the caller), so
the demo is byte-for-byte reproducible.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import yaml

from mlvc_tui.engine.delivery.spec import Delivery, Mode, Variant
from mlvc_tui.engine.demo import train as demo_train

FEATURES_V1 = [
    "age",
    "tenure_months",
    "monthly_spend",
    "sessions_7d",
    "support_tickets",
    "discount_rate",
]
FEATURES_V2 = [*FEATURES_V1, "days_since_login"]
FEATURES_V3 = [*FEATURES_V2, "spend_per_session"]
_INTS = {"age", "tenure_months", "sessions_7d", "support_tickets", "days_since_login"}
_DESCRIPTIONS = {
    "customer_id": "opaque customer key",
    "region": "billing region (eu, us)",
    "age": "customer age in years",
    "tenure_months": "months since sign-up",
    "monthly_spend": "average monthly spend, EUR",
    "sessions_7d": "app sessions in the last 7 days",
    "support_tickets": "support tickets in the last 90 days",
    "discount_rate": "current discount, 0-1",
    "days_since_login": "days since the last login",
    "spend_per_session": "monthly_spend / (sessions_7d + 1)",
    "churned": "1 if the customer left within 30 days (label)",
}

MLVC_TOML = b"""[registry]
prod = "prod"
environments = ["prod", "staging", "dev"]
model = "models/model.pkl"
train = "python src/train.py"  # what `mlvc reproduce` runs

[metrics]
primary = "accuracy"
"""

README = b"""# churn-model

Customer churn model, versioned with mlvc: every branch is an environment or an experiment,
and holds its code (`src/`), data (`data/`), params, model, metrics, logs and monitoring.
Promote a branch by merging it into `prod`; versions are tags `model@vX.Y.Z`.

    python src/train.py     # retrain from params.yaml and data/train.csv
"""


def population(seed: int, n: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    """``n`` customers with features and a churn label; ``shift`` moves live traffic."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(41 - 4 * shift, 12, n), 18, 80).round()
    tenure = np.clip(rng.exponential(22, n), 1, 120).round()
    spend = np.round(rng.lognormal(np.log(55 * (1 + 0.15 * shift)), 0.5, n), 2)
    engaged = rng.gamma(2.0, 1.0, n)
    sessions = rng.poisson(2.5 * engaged * (1 - 0.2 * shift)).astype(float)
    tickets = rng.poisson(0.8, n).astype(float)
    discount = rng.choice([0.0, 0.05, 0.1, 0.15, 0.2, 0.3], n, p=[0.4, 0.2, 0.15, 0.1, 0.1, 0.05])
    days = np.clip(rng.exponential(9 / engaged + 2 + 6 * shift), 0, 90).round()
    per_session = np.round(spend / (sessions + 1), 2)
    region = np.where(rng.random(n) < 0.45, "eu", "us")
    logit = (
        -1.5
        - 0.035 * (age - 41)
        - 0.06 * (tenure - 22)
        + 0.012 * (spend - 60)
        - 0.12 * (sessions - 5)
        + 0.7 * (tickets - 0.8)
        - 3.0 * (discount - 0.08)
        + 0.09 * (days - 8)
        + 0.9 * np.log((per_session + 1) / 12)
        + 0.3 * (region == "eu")
    )
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    ids = np.array([f"C{seed % 1000:03d}{i:05d}" for i in range(n)])
    return {
        "customer_id": ids,
        "region": region,
        "age": age,
        "tenure_months": tenure,
        "monthly_spend": spend,
        "sessions_7d": sessions,
        "support_tickets": tickets,
        "discount_rate": discount,
        "days_since_login": days,
        "spend_per_session": per_session,
        "churned": label,
    }


def _cells(name: str, values: np.ndarray) -> list[str]:
    if name in _INTS:
        return [str(v) for v in values.astype(int).tolist()]
    if values.dtype.kind == "f":
        return [f"{v:.2f}" for v in values.tolist()]
    return [str(v) for v in values.tolist()]


def train_csv(pop: dict[str, np.ndarray], features: list[str], rows: int) -> bytes:
    """The training table: id, region, ``features`` and the label, first ``rows`` rows."""
    cols = ["customer_id", "region", *features, "churned"]
    cells = [_cells(c, pop[c][:rows]) for c in cols]
    lines = [",".join(cols)] + [",".join(row) for row in zip(*cells, strict=True)]
    return ("\n".join(lines) + "\n").encode()


def schema_json(features: list[str], version: int) -> bytes:
    cols = ["customer_id", "region", *features, "churned"]
    kind = {"customer_id": "string", "region": "category", "churned": "int"}
    schema = {
        "version": version,
        "label": "churned",
        "primary_key": "customer_id",
        "columns": [
            {
                "name": c,
                "type": kind.get(c, "int" if c in _INTS else "float"),
                "description": _DESCRIPTIONS[c],
            }
            for c in cols
        ],
    }
    return (json.dumps(schema, indent=2) + "\n").encode()


def params_yaml(params: dict[str, Any]) -> bytes:
    return str(yaml.safe_dump(params, sort_keys=False, default_flow_style=False)).encode()


def _hours(end: datetime, count: int) -> list[str]:
    last = end.replace(minute=0, second=0)
    return [f"{last - timedelta(hours=count - 1 - i):%Y-%m-%dT%H:%M:%SZ}" for i in range(count)]


def drift_csv(
    seed: int, features: list[str], end: datetime, hot: dict[str, float], hours: int = 250
) -> tuple[bytes, int]:
    """Long-form drift log (PSI and KS per feature and the score, per hour), alert count.

    ``hot`` maps a feature to how far over its threshold it ends (e.g. 1.4 = 40 % over);
    its drift ramps up over the last third of the window.
    """
    rng = np.random.default_rng(seed)
    stamps = _hours(end, hours)
    ramp = np.clip((np.arange(hours) - hours * 2 / 3) / (hours / 3), 0, 1)
    lines = ["timestamp,feature,metric,value,threshold"]
    columns, alerts = [], 0
    for feature in [*features, "score"]:
        for metric, threshold, base in (("psi", 0.2, 0.04), ("ks", 0.1, 0.03)):
            noise = np.abs(rng.normal(base, base / 3, hours))
            peak = hot.get(feature, 0.0) * threshold
            values = np.round(noise + ramp**2 * max(peak - base, 0), 4)
            alerts += int(np.sum(values > threshold))
            columns.append((feature, metric, threshold, values))
    cells = [(f"{f},{m}", [f"{x:.4f},{th}" for x in v.tolist()]) for f, m, th, v in columns]
    for t, stamp in enumerate(stamps):
        lines += [f"{stamp},{key},{v[t]}" for key, v in cells]
    return ("\n".join(lines) + "\n").encode(), alerts


def predictions_csv(
    seed: int, model: dict[str, Any], end: datetime, shift: float, hours: int = 240, rows: int = 300
) -> bytes:
    """Scored live requests over the last ``hours``, with their (delayed) true labels."""
    live = population(seed, rows, shift)
    x = np.array([live[f] for f in model["features"]], dtype=float).T
    score = demo_train.predict_proba(model, x)
    rng = np.random.default_rng(seed + 1)
    offsets = np.sort(rng.integers(0, hours * 3600, rows))[::-1].tolist()
    ids = rng.integers(0, 16**8, rows).tolist()
    labels = live["churned"].tolist()
    lines = ["timestamp,request_id,prediction,score,label"]
    for i, p in enumerate(score.tolist()):
        stamp = end - timedelta(seconds=offsets[i])
        lines.append(
            f"{stamp:%Y-%m-%dT%H:%M:%SZ},req-{ids[i]:08x},"
            f"{int(p >= model['threshold'])},{p:.4f},{labels[i]}"
        )
    return ("\n".join(lines) + "\n").encode()


AB_TEST = "ab-20260929-churn"
AB_ARMS = {"ab/test-a": (0.41, 42.0, 0.004), "ab/test-b": (0.46, 45.0, 0.006)}


def ab_delivery(started: datetime) -> Delivery:
    """The demo's A/B test: ab/test-a (control) and ab/test-b, 50/50."""
    return Delivery(
        Mode.AB,
        AB_TEST,
        (
            Variant("ab/test-a", 50.0, ((0, 5000),), "control"),
            Variant("ab/test-b", 50.0, ((5000, 10_000),), "variant"),
        ),
        started.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def ab_results_csv(seed: int, branch: str, start: datetime, end: datetime) -> bytes:
    """One row per customer the branch served since ``start``: routed by the demo's
    delivery.toml (so `mlvc route` agrees), retained (1) or not, latency and errors."""
    rng = np.random.default_rng(seed)  # the same arrivals for every arm
    hours = int((end - start).total_seconds() // 3600)
    arrivals = np.sort(rng.uniform(0, hours * 3600, 30 * hours))
    route = ab_delivery(start).route
    rate, latency, errors = AB_ARMS[branch]
    mine = np.random.default_rng(seed + sum(branch.encode()))
    lines = ["timestamp,unit_id,variant,outcome,latency_ms,error"]
    for i, offset in enumerate(arrivals.tolist()):
        unit = f"cust-{i:05d}"
        retained, ms, failed = (
            mine.random() < rate,
            mine.gamma(9.0, latency / 9),
            mine.random() < errors,
        )
        if route(unit).branch == branch:
            stamp = start + timedelta(seconds=int(offset))
            lines.append(
                f"{stamp:%Y-%m-%dT%H:%M:%SZ},{unit},{branch},{int(retained)},{ms:.1f},{int(failed)}"
            )
    return ("\n".join(lines) + "\n").encode()


def sweep_csv(trials: list[tuple[float, float, dict[str, Any]]]) -> bytes:
    """One row per sweep trial: lr, l2 and its validation metrics."""
    lines = ["trial,lr,l2,accuracy,f1,auc,loss"]
    lines += [
        f"{i},{lr},{l2},{m['accuracy']},{m['f1']},{m['auc']},{m['loss']}"
        for i, (lr, l2, m) in enumerate(trials, 1)
    ]
    return ("\n".join(lines) + "\n").encode()
