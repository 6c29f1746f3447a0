"""The demo registry: a realistic, deterministic churn-model registry built on plain git.

`build_demo` writes it in one pack; the builder, the generated data, the numpy training
and the promotion check committed as `src/check.py` are its parts.
"""

from mlvc_tui.engine.demo.build import build_demo

__all__ = ["build_demo"]
