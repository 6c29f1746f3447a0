"""Errors a user can cause. Each carries the exit code the `mlvc` command ends with."""

from __future__ import annotations

__all__ = [
    "BadInput",
    "MlvcError",
    "ModelIntegrityError",
    "NotARegistry",
    "RefNotFound",
    "Refused",
    "UnsafePath",
]


class MlvcError(Exception):
    """Base of every error the engine raises on purpose; ``str()`` is one clear line."""

    exit_code = 2


class BadInput(MlvcError):
    """The input (a file, an argument, a repository) cannot be used as given."""


class NotARegistry(BadInput):
    """The path is not inside a git repository, or the repository cannot serve as one."""


class RefNotFound(BadInput):
    """A branch, tag or commit named by the user does not exist."""


class Refused(MlvcError):
    """The request is valid but the engine will not do it (gate, conflict, race)."""

    exit_code = 1


class UnsafePath(Refused):
    """A tree holds a path that would leave its folder (``..``, ``.git``, ``/`` in a name)."""


class ModelIntegrityError(Refused):
    """A model's bytes do not match its lineage record, or it has none."""
