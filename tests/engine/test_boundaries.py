"""The house rules, checked: layers (import-linter), no import circles, a UI-free engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "mlvc_tui" / "engine"
UI = ("textual", "rich", "mlvc_tui.app", "mlvc_tui.cli", "mlvc_tui.screens", "mlvc_tui.widgets")


def _engine_modules() -> list[str]:
    out = []
    for path in sorted(ENGINE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def test_import_contracts_hold() -> None:
    """pyproject.toml's [tool.importlinter] contracts: the engine is UI-free, only
    engine.git imports dulwich, screens and widgets never import the CLI, nor it Textual."""
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start) & modules)))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    nxt = sorted(graph.find_modules_directly_imported_by(child) & modules)
                    work.append((child, iter(nxt)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    group.append(top)
                    if top == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_import_circles() -> None:
    """No module of mlvc_tui (screens included) reaches itself through its imports; a
    package's __init__ re-exporting its children does not count as a circle."""
    graph = grimp.build_graph("mlvc_tui", "screens", exclude_type_checking_imports=True)
    modules = set(graph.modules)
    for package in ("mlvc_tui.engine", "mlvc_tui", "screens"):  # facades, not parts
        modules.discard(package)
    assert _cycles(graph, modules) == []


@pytest.mark.parametrize("module", _engine_modules())
def test_engine_module_imports_no_ui(module: str) -> None:
    """Every engine module, imported alone in a fresh interpreter, loads no UI code."""
    code = f"import sys, {module}\nprint(sorted(m for m in {UI!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", module


def test_every_public_engine_name_resolves() -> None:
    """Each name of ``mlvc_tui.engine.__all__`` loads; a ``module:name`` entry of ``_LAZY``
    gives that module's ``name`` under the public one (``serve_mount`` is mount.run's serve)."""
    import importlib

    import mlvc_tui.engine as engine

    missing = [name for name in engine.__all__ if getattr(engine, name, None) is None]
    assert missing == []
    run = importlib.import_module("mlvc_tui.engine.mount.run")
    assert (engine.serve_mount, engine.spawn_mount) == (run.serve, run.spawn)
    assert engine.reproduce_branch is importlib.import_module("mlvc_tui.engine.reproduce").reproduce
