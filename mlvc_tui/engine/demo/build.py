"""Build the demo registry: a realistic, deterministic churn-model registry on plain git.

Every object is built in memory with dulwich (fixed authors, dates and seeds), written as
one pack, then the refs, HEAD (``dev``) and the working tree are set. The models are really
trained by :mod:`mlvc_tui.engine.demo.train`, whose source is committed as ``src/train.py``.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from dulwich.index import build_index_from_tree
from dulwich.pack import write_pack
from dulwich.repo import Repo

from mlvc_tui.engine.delivery.spec import dump
from mlvc_tui.engine.demo import check as demo_check
from mlvc_tui.engine.demo import data as dd
from mlvc_tui.engine.demo import train as demo_train
from mlvc_tui.engine.demo.builder import ANA, BEN, CHEN, Builder, at, code
from mlvc_tui.engine.errors import BadInput

__all__ = ["build_demo"]


def _history(b: Builder) -> None:
    """The six weeks of the demo registry, in order."""
    pop = dd.population(b.seed, 2400)
    f1, f2, f3 = dd.FEATURES_V1, dd.FEATURES_V2, dd.FEATURES_V3
    base = {"model": "logistic", "lr": 0.05, "epochs": 100, "l2": 0.0, "seed": 42}

    def params(**kw: Any) -> bytes:
        return dd.params_yaml({**base, **kw})

    b.commit(
        "prod",
        ANA,
        at(0, 9),
        "Initial churn model: training script, params, data\n\n"
        "Logistic regression on six customer features, trained by gradient descent\n"
        "(src/train.py). data/train.csv: 1,500 labelled customers from July-August.",
        {
            "README.md": dd.README,
            "mlvc.toml": dd.MLVC_TOML,
            "src/train.py": code(1),
            "params.yaml": params(features=f1),
            "data/train.csv": dd.train_csv(pop, f1, 1500),
            "data/schema.json": dd.schema_json(f1, 1),
        },
    )
    b.train("prod", at(0, 9, 40))
    b.tag(
        "v1.0.0",
        at(0, 10, 5),
        "model v1.0.0: first production churn model\n\n"
        f"logistic regression on 6 features, accuracy {b.metric('prod'):.4f}",
    )
    b.monitor("prod", at(1, 9), {}, 0.0)
    b.branch("staging", "prod")
    b.branch("dev", "prod")
    b.commit(
        "dev",
        BEN,
        at(2, 10, 15),
        "params: higher learning rate, L2, 300 epochs\n\n"
        "The 100-epoch run had not converged: validation loss was still falling.",
        {"params.yaml": params(lr=0.3, epochs=300, l2=0.01, features=f1)},
    )
    b.train("dev", at(2, 10, 40))
    b.merge(
        "staging",
        "dev",
        ANA,
        at(3, 16, 30),
        "Merge branch 'dev' into staging\n\nShadow-deploy the tuned model (lr 0.3, l2 0.01).",
    )
    b.monitor("staging", at(5, 9), {}, 0.05)
    b.promote("staging", "v1.1.0", at(7, 11), ANA, "tuned learning rate and L2")
    b.monitor("prod", at(8, 9), {}, 0.1)
    b.branch("exp/lr-sweep", "prod")
    sweep_data = demo_train.read_table(b.files[b.heads["prod"]]["data/train.csv"].decode())
    trials = [
        (
            lr,
            l2,
            demo_train.train(
                {**base, "lr": lr, "l2": l2, "epochs": 100, "features": f1},
                sweep_data,
                stratified=False,
                history=False,
            )["metrics"],
        )
        for lr in (0.05, 0.1, 0.3, 1.0)
        for l2 in (0.0, 0.01)
    ]
    lr, l2, _ = max(trials, key=lambda t: (t[2]["accuracy"], -t[2]["loss"]))
    b.commit(
        "exp/lr-sweep",
        CHEN,
        at(8, 14, 20),
        "sweep: lr x l2 grid, 8 trials of 100 "
        f"epochs\n\nBest by validation accuracy: lr={lr}, l2={l2}. See metrics/sweep.csv.",
        {
            "params.yaml": params(lr=lr, epochs=300, l2=l2, features=f1),
            "metrics/sweep.csv": dd.sweep_csv(trials),
        },
    )
    b.train("exp/lr-sweep", at(8, 14, 45))
    b.monitor("dev", at(12, 9), {}, 0.1)
    b.commit(
        "dev",
        CHEN,
        at(13, 10),
        "train: stratified validation split, per-step history\n\n"
        "The random split left fewer churners in validation than in training.\n"
        "Also write metrics/train_history.csv (step, loss, accuracy) for loss plots.",
        {"src/train.py": code(2)},
    )
    b.train("dev", at(13, 10, 30))
    b.merge("staging", "dev", BEN, at(14, 15), "Merge branch 'dev' into staging")
    b.monitor("staging", at(15, 9), {}, 0.1)
    b.promote(
        "staging",
        "v1.1.1",
        at(15, 11, 30),
        ANA,
        "stratified split and training history (pipeline change)",
    )
    b.monitor("prod", at(16, 9), {"days_since_login": 0.6}, 0.2)
    b.commit(
        "dev",
        BEN,
        at(17, 11),
        "data: refresh to 2,400 customers, add days_since_login\n\n"
        "Warehouse export of 2026-09-17. Schema v2: days_since_login is the strongest\n"
        "single churn signal in the exploratory analysis.",
        {
            "params.yaml": params(lr=0.3, epochs=300, l2=0.01, features=f2),
            "data/train.csv": dd.train_csv(pop, f2, 2400),
            "data/schema.json": dd.schema_json(f2, 2),
        },
    )
    b.train("dev", at(17, 11, 30))
    b.branch("exp/feature-eng", "dev")
    b.commit(
        "exp/feature-eng",
        CHEN,
        at(20, 10),
        "features: add spend_per_session\n\n"
        "monthly_spend / (sessions_7d + 1), schema v3: heavy spenders with few sessions\n"
        "churn more than either feature says alone.",
        {
            "params.yaml": params(lr=0.3, epochs=300, l2=0.01, features=f3),
            "data/train.csv": dd.train_csv(pop, f3, 2400),
            "data/schema.json": dd.schema_json(f3, 3),
        },
    )
    b.train("exp/feature-eng", at(20, 10, 20))
    b.merge("staging", "dev", ANA, at(21, 16), "Merge branch 'dev' into staging")
    b.monitor("staging", at(22, 9), {}, 0.2)
    b.promote(
        "staging",
        "v2.0.0",
        at(23, 11),
        ANA,
        "refreshed data with days_since_login (schema v2, breaking)",
    )
    b.monitor("prod", at(24, 9), {}, 0.25)
    b.commit(
        "dev",
        BEN,
        at(27, 10, 30),
        "params: weaker L2 (0.01 -> 0.003), 400 epochs",
        {"params.yaml": params(lr=0.3, epochs=400, l2=0.003, features=f2)},
    )
    b.train("dev", at(27, 11))
    b.branch("ab/test-a", "prod")
    b.branch("ab/test-b", "dev")
    ab_start = at(28, 0)
    b.commit(
        "prod",
        ANA,
        at(27, 17),
        f"delivery: start A/B test {dd.AB_TEST}: ab/test-a 50%, ab/test-b 50%\n\n"
        "ab/test-b is dev's weaker-L2 model; the outcome is whether a flagged customer stayed.",
        {"delivery.toml": dump(dd.ab_delivery(ab_start))},
    )
    b.monitor("prod", at(29, 9), {"days_since_login": 0.8}, 0.3)
    b.branch("exp/deep-model", "dev")
    b.commit(
        "exp/deep-model",
        CHEN,
        at(30, 13),
        "model: one-hidden-layer MLP, 16 tanh units",
        {"params.yaml": params(model="mlp", hidden=16, lr=0.3, epochs=250, l2=0.001, features=f2)},
    )
    b.train("exp/deep-model", at(30, 13, 30))
    b.monitor("ab/test-a", at(32, 9), {}, 0.3, ("a", ab_start, 0.0))
    b.monitor("ab/test-b", at(32, 9, 5), {"monthly_spend": 1.1}, 0.4, ("b", ab_start, 0.02))
    b.commit(
        "exp/deep-model",
        CHEN,
        at(34, 15),
        "model: 8 hidden units, lr 0.5\n\n"
        "16 units fit the training split better but not the validation split.",
        {"params.yaml": params(model="mlp", hidden=8, lr=0.5, epochs=300, l2=0.001, features=f2)},
    )
    b.train("exp/deep-model", at(34, 15, 30))
    b.monitor("prod", at(35, 9), {"days_since_login": 1.3}, 0.4)
    b.monitor("ab/test-a", at(37, 9), {"days_since_login": 1.2}, 0.45, ("a", ab_start, 0.0))
    b.monitor(
        "ab/test-b",
        at(37, 9, 5),
        {"monthly_spend": 1.5, "discount_rate": 1.3, "score": 1.25},
        0.6,
        ("b", ab_start, 0.02),
    )
    b.monitor("dev", at(38, 9), {"days_since_login": 1.1}, 0.4)
    b.commit(
        "staging",
        ANA,
        at(39, 10),
        "serve: score customers in batches of 500\n\n"
        "The same model; the serving pipeline reads and scores in batches.",
        {"config/serve.yaml": SERVE},
    )
    b.monitor("staging", at(40, 9), {"days_since_login": 0.9}, 0.4)
    b.commit(
        "prod",
        ANA,
        at(40, 14),
        "ci: promotion gates and a model check (src/check.py)\n\n"
        "Promotions into prod pass staging first, and src/check.py loads the model in its\n"
        "own process and predicts on a sample (docs/promotion.md).",
        {"mlvc.toml": dd.MLVC_TOML + demo_check.GATES_TOML, "src/check.py": demo_check.source()},
    )


SERVE = b"""# How the serving pipeline runs the model (same model, same contract).
batch_size: 500
timeout_ms: 250
"""


def _write(root: Path, b: Builder, dirty: bool) -> None:
    with Repo.init(str(root)) as repo:
        # One pack, written directly (add_objects would re-read it to index it).
        tmp = os.path.join(repo.object_store.pack_dir, "tmp-demo")
        checksum, _ = write_pack(
            tmp, list(b.objects.values()), repo.object_format, compression_level=1
        )
        for ext in (".pack", ".idx"):
            os.replace(
                tmp + ext, os.path.join(repo.object_store.pack_dir, f"pack-{checksum.hex()}{ext}")
            )
        for name, cid in b.heads.items():
            repo.refs[f"refs/heads/{name}".encode()] = cid
        for name, tid in b.tags.items():
            repo.refs[f"refs/tags/{name}".encode()] = tid
        repo.refs.set_symbolic_ref(b"HEAD", b"refs/heads/dev")
        tree = repo[b.heads["dev"]].tree
        build_index_from_tree(repo.path, repo.index_path(), repo.object_store, tree)
    if dirty:  # a training job in progress on dev
        run = b.runs["dev"]
        lines = [f"ci job #{b.job + 1}: python src/train.py (dev, running)", *run["log"][:5]]
        with (root / "logs" / "train.log").open("a", encoding="utf-8", newline="\n") as out:
            out.write(demo_train.log_text(lines, at(41, 8, 30), timedelta(seconds=2)))


def build_demo(path: str | os.PathLike[str], seed: int = 7, dirty: bool = True) -> Path:
    """Create the demo registry at ``path`` (absent or an empty directory); return its path.

    The same ``seed`` gives the same commit ids. With ``dirty``, ``logs/train.log`` in the
    working tree has lines a running training job appended.
    """
    root = Path(os.fspath(path))
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise BadInput(f"cannot create the demo at {root}: it exists and is not an empty folder")
    builder = Builder(int(seed))
    _history(builder)
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        _write(root, builder, dirty)
    except BaseException:
        if created:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for child in root.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    return root.resolve()
