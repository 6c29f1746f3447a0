"""The demo registry's promotion check, committed as ``src/check.py`` on prod.

``mlvc promote`` runs it (``[gates] check = "python src/check.py"``) in a temporary copy of
the files about to be promoted, in its own process: it loads ``models/model.pkl`` with an
unpickler that admits numpy only, predicts on a sample of ``data/train.csv`` with the
pipeline's own ``src/train.py``, and exits 0 when the predictions are sane. Deterministic:
the same files print the same lines.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
from pathlib import Path

SAMPLE = 200
MAX_GAP = 0.15  # sample accuracy may trail the recorded accuracy by this much


class NumpyOnly(pickle.Unpickler):
    """Refuses to build anything but numpy arrays and plain Python values."""

    def find_class(self, module: str, name: str) -> object:
        if module.split(".")[0] != "numpy":
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def fail(message: str) -> int:
    print(f"FAILED: {message}")
    return 1


def main(root: str = ".") -> int:
    base = Path(root)
    sys.path.insert(0, str(base / "src"))
    import numpy as np
    from train import predict_proba, read_table  # the pipeline's own code

    raw = (base / "models/model.pkl").read_bytes()
    print(f"loading models/model.pkl ({len(raw):,} bytes), numpy objects only")
    try:
        model = NumpyOnly(io.BytesIO(raw)).load()
    except Exception as exc:
        return fail(f"the model does not load: {exc}")
    features = list(model["features"])
    print(f"model: {model['kind']}, {len(features)} features, threshold {model['threshold']}")
    table = read_table((base / "data/train.csv").read_text())
    missing = [f for f in features if f not in table]
    if missing:
        return fail(f"data/train.csv lacks {', '.join(missing)}: schema mismatch")
    x = np.array([table[f][:SAMPLE] for f in features], dtype=float).T
    y = np.array(table[model["label"]][:SAMPLE], dtype=float)
    p = predict_proba(model, x)
    print(f"predicted {len(p)} rows of data/train.csv")
    if p.shape != (len(x),) or not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        return fail("predictions are not probabilities")
    accuracy = float(np.mean((p >= model["threshold"]) == y))
    recorded = json.loads((base / "metrics/model.json").read_text())["accuracy"]
    print(
        f"sample accuracy {accuracy:.4f}, recorded {recorded:.4f}, "
        f"positive rate {float(np.mean(p >= model['threshold'])):.3f}"
    )
    if accuracy < recorded - MAX_GAP:
        return fail(f"sample accuracy {accuracy:.4f} is far below the recorded {recorded:.4f}")
    print("ok: the model loads and predicts")
    return 0


GATES_TOML = b"""
[gates]
slice_tolerance = 0.05          # no slice metric may drop more than this
require_stage = "staging"       # a commit reaches prod only after staging
check = "python src/check.py"   # load the model in its own process, predict on a sample
check_timeout = 120
"""


def source() -> bytes:
    """This file's bytes: what the demo commits as ``src/check.py``."""
    return Path(__file__).read_bytes()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
