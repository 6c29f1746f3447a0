"""Import hygiene and the built wheel's layout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parents[2]

LOADED = """
import sys, runpy
sys.argv = {argv!r}
try:
    runpy.run_module("mlvc_tui.cli.main", run_name="__main__")
except SystemExit:
    pass
heavy = sorted(m for m in ("pandas", "textual", "numpy") if m in sys.modules)
print("LOADED", heavy, file=sys.stderr)
"""


def _loaded(argv: list[str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", LOADED.format(argv=argv)], capture_output=True, text=True, check=True
    )
    return out.stderr.strip().splitlines()[-1]


def test_engine_never_imports_textual() -> None:
    code = (
        "import mlvc_tui.engine, mlvc_tui.engine.live.drift, sys; print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "command",
    [["grid", "--json"], ["grid"], ["branches"], ["diff"], ["history", "accuracy"], ["lineage"]],
)
def test_read_commands_import_neither_pandas_nor_textual(
    tmp_path: Path, command: list[str]
) -> None:
    r = GitRepo(tmp_path / "reg")
    r.commit("m", {"models/model.pkl": b"m", "metrics/model.json": {"accuracy": 0.5}})
    assert _loaded(["mlvc", "-C", str(r.path), *command]) == "LOADED []"


def test_wheel_installs_screens_under_the_package(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "-o",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("mlvc_tui-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "mlvc_tui/screens/__init__.py" in names
    assert not any(n.startswith("screens/") for n in names)
    assert "mlvc_tui/engine/registry/core.py" in names and "mlvc_tui/app.tcss" in names
    assert any(n.endswith("entry_points.txt") for n in names)
