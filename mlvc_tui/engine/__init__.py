"""The registry engine: reads and writes a git repository as a model registry.

This package is the engine's one public face: screens, widgets, the CLI and the API import
from ``mlvc_tui.engine`` only. The registry, its errors and its value types load with the
package; every other name loads on first use (PEP 562 module ``__getattr__``), so
``mlvc grid --json`` imports neither pandas, numpy nor the promotion or delivery code.
It never imports Textual or Rich.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlvc_tui.engine.errors import BadInput, MlvcError, NotARegistry, RefNotFound, Refused
from mlvc_tui.engine.registry import WORKTREE, Registry
from mlvc_tui.engine.values import *  # noqa: F403
from mlvc_tui.engine.values import __all__ as _values_all

if TYPE_CHECKING:  # what the lazy names are, for mypy and readers
    from mlvc_tui.engine.delivery.report import ABReport, Verdicts, ab_report, rebalance
    from mlvc_tui.engine.delivery.rollout import canary, canary_abort, canary_step, switch
    from mlvc_tui.engine.delivery.spec import Delivery, Mode
    from mlvc_tui.engine.delivery.traffic import (
        DeliveryChange,
        DeliveryCommit,
        delivery_log,
        read_delivery,
        route,
        set_weights,
        start_ab,
        stop_ab,
    )
    from mlvc_tui.engine.demo.build import build_demo
    from mlvc_tui.engine.folder_models import FolderModel
    from mlvc_tui.engine.git import files, locks
    from mlvc_tui.engine.git.files import FileStat
    from mlvc_tui.engine.git.staging import BranchFile, FileTransaction, active_transaction
    from mlvc_tui.engine.git.transport import redact
    from mlvc_tui.engine.grid import GridPart, grid_parts
    from mlvc_tui.engine.init import init_registry
    from mlvc_tui.engine.joined import Joined
    from mlvc_tui.engine.jsonable import dumps, to_jsonable
    from mlvc_tui.engine.live.drift import (
        DRIFT_FORMATS,
        DRIFT_PATH,
        DriftPoint,
        DriftReport,
        DriftSeries,
        NoDriftLog,
        parse_drift,
    )
    from mlvc_tui.engine.live.observers import watching_off
    from mlvc_tui.engine.live.tail import (
        DriftFollow,
        DriftUpdate,
        LogFollow,
        LogLine,
        LogUpdate,
        drift_thresholds,
        log_files,
    )
    from mlvc_tui.engine.live.watch import Change, RegistryWatcher, apply_change
    from mlvc_tui.engine.models import (
        ModelIntegrityError,
        SavedModel,
        branch_start,
        fetch_model,
        load_model,
        save_model,
    )
    from mlvc_tui.engine.mount.run import mounted, unmount
    from mlvc_tui.engine.mount.run import preflight as mount_preflight
    from mlvc_tui.engine.mount.run import serve as serve_mount
    from mlvc_tui.engine.mount.run import spawn as spawn_mount
    from mlvc_tui.engine.promotion.approvals import approvals_of, approve
    from mlvc_tui.engine.promotion.gto import GtoState, gto_state
    from mlvc_tui.engine.promotion.promote import (
        CHECK_PENDING,
        PromotionDone,
        PromotionPlan,
        apply_promotion,
        paths_summary,
        plan_promotion,
        run_plan_check,
    )
    from mlvc_tui.engine.promotion.rollback import RollbackPlan, apply_rollback, plan_rollback
    from mlvc_tui.engine.promotion.sandbox import bwrap
    from mlvc_tui.engine.promotion.stages import (
        missing_stage_tags,
        repair_stage_tags,
        tag_repairs,
    )
    from mlvc_tui.engine.promotion.versions import (
        VersionEntry,
        model_name,
        repair_tags,
        version_history,
    )
    from mlvc_tui.engine.remote.atomic import (
        pushes_by_default,
        remote_approve,
        remote_change,
        remote_promote,
        remote_rollback,
    )
    from mlvc_tui.engine.remote.clone import clone
    from mlvc_tui.engine.remote.hook import install_hook, run_pre_receive
    from mlvc_tui.engine.remote.sync import FetchReport, PushReport, fetch, push, stderr_progress
    from mlvc_tui.engine.reproduce import reproduce as reproduce_branch
    from mlvc_tui.engine.serving import (
        CacheFull,
        ModelWatcher,
        ResolvedModel,
        load_remote_model,
        local_target,
        resolve_model,
    )
    from mlvc_tui.engine.timestamps import as_datetime

# name -> the module that defines it (``module:name`` when it is named otherwise there).
# ``files`` and ``locks`` are modules; so are the engine's own submodules
# (``from mlvc_tui.engine import models``), which Python imports by itself.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        ("ABReport", "Verdicts", "ab_report", "rebalance"), "mlvc_tui.engine.delivery.report"
    ),
    **dict.fromkeys(
        ("canary", "canary_abort", "canary_step", "switch"), "mlvc_tui.engine.delivery.rollout"
    ),
    **dict.fromkeys(("Delivery", "Mode"), "mlvc_tui.engine.delivery.spec"),
    **dict.fromkeys(
        (
            "DeliveryChange",
            "DeliveryCommit",
            "delivery_log",
            "read_delivery",
            "route",
            "set_weights",
            "start_ab",
            "stop_ab",
        ),
        "mlvc_tui.engine.delivery.traffic",
    ),
    "build_demo": "mlvc_tui.engine.demo.build",
    "files": "mlvc_tui.engine.git.files",
    "FileStat": "mlvc_tui.engine.git.files",
    **dict.fromkeys(
        ("BranchFile", "FileTransaction", "active_transaction"), "mlvc_tui.engine.git.staging"
    ),
    "init_registry": "mlvc_tui.engine.init",
    **dict.fromkeys(("dumps", "to_jsonable"), "mlvc_tui.engine.jsonable"),
    **dict.fromkeys(
        (
            "DRIFT_FORMATS",
            "DRIFT_PATH",
            "DriftPoint",
            "DriftReport",
            "DriftSeries",
            "NoDriftLog",
            "parse_drift",
        ),
        "mlvc_tui.engine.live.drift",
    ),
    "watching_off": "mlvc_tui.engine.live.observers",
    **dict.fromkeys(
        (
            "DriftFollow",
            "DriftUpdate",
            "LogFollow",
            "LogLine",
            "LogUpdate",
            "drift_thresholds",
            "log_files",
        ),
        "mlvc_tui.engine.live.tail",
    ),
    **dict.fromkeys(("Change", "RegistryWatcher", "apply_change"), "mlvc_tui.engine.live.watch"),
    **dict.fromkeys(
        (
            "ModelIntegrityError",
            "SavedModel",
            "branch_start",
            "fetch_model",
            "load_model",
            "save_model",
        ),
        "mlvc_tui.engine.models",
    ),
    **dict.fromkeys(("mounted", "unmount"), "mlvc_tui.engine.mount.run"),
    "mount_preflight": "mlvc_tui.engine.mount.run:preflight",
    "serve_mount": "mlvc_tui.engine.mount.run:serve",
    "spawn_mount": "mlvc_tui.engine.mount.run:spawn",
    **dict.fromkeys(("approvals_of", "approve"), "mlvc_tui.engine.promotion.approvals"),
    **dict.fromkeys(
        (
            "CHECK_PENDING",
            "PromotionDone",
            "PromotionPlan",
            "apply_promotion",
            "paths_summary",
            "plan_promotion",
            "run_plan_check",
        ),
        "mlvc_tui.engine.promotion.promote",
    ),
    **dict.fromkeys(
        ("RollbackPlan", "apply_rollback", "plan_rollback"), "mlvc_tui.engine.promotion.rollback"
    ),
    **dict.fromkeys(
        ("VersionEntry", "model_name", "repair_tags", "version_history"),
        "mlvc_tui.engine.promotion.versions",
    ),
    **dict.fromkeys(("GtoState", "gto_state"), "mlvc_tui.engine.promotion.gto"),
    **dict.fromkeys(
        ("missing_stage_tags", "repair_stage_tags", "tag_repairs"),
        "mlvc_tui.engine.promotion.stages",
    ),
    "redact": "mlvc_tui.engine.git.transport",
    "locks": "mlvc_tui.engine.git.locks",
    **dict.fromkeys(("install_hook", "run_pre_receive"), "mlvc_tui.engine.remote.hook"),
    **dict.fromkeys(
        (
            "pushes_by_default",
            "remote_approve",
            "remote_change",
            "remote_promote",
            "remote_rollback",
        ),
        "mlvc_tui.engine.remote.atomic",
    ),
    "clone": "mlvc_tui.engine.remote.clone",
    **dict.fromkeys(
        ("FetchReport", "PushReport", "fetch", "push", "stderr_progress"),
        "mlvc_tui.engine.remote.sync",
    ),
    **dict.fromkeys(
        (
            "CacheFull",
            "ModelWatcher",
            "ResolvedModel",
            "load_remote_model",
            "local_target",
            "resolve_model",
        ),
        "mlvc_tui.engine.serving",
    ),
    "FolderModel": "mlvc_tui.engine.folder_models",
    **dict.fromkeys(("GridPart", "grid_parts"), "mlvc_tui.engine.grid"),
    "Joined": "mlvc_tui.engine.joined",
    "as_datetime": "mlvc_tui.engine.timestamps",
    "reproduce_branch": "mlvc_tui.engine.reproduce:reproduce",
    "bwrap": "mlvc_tui.engine.promotion.sandbox",
}

__all__ = [
    "WORKTREE",
    "BadInput",
    "MlvcError",
    "NotARegistry",
    "RefNotFound",
    "Refused",
    "Registry",
    *_values_all,
    *sorted(_LAZY),
]


_MODULES = frozenset({"files", "locks"})  # names that are modules of engine.git


def __getattr__(name: str) -> Any:
    """A lazy name: import its module on first use (and keep the value)."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    where, _, attr = where.partition(":")
    module = importlib.import_module(where)
    value = module if name in _MODULES else getattr(module, attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
