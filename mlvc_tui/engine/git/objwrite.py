"""Adding objects when other processes may be adding the same ones.

dulwich writes a loose object through ``<object>.lock`` (O_EXCL): two processes writing
the same object at once make the second raise FileLocked, although the object is then
(or soon) there. Git tolerates this; here the writer waits for the other one to finish.
"""

from __future__ import annotations

import time
from typing import Any

from dulwich.file import FileLocked
from dulwich.object_store import BaseObjectStore
from dulwich.objects import ShaFile

from mlvc_tui.engine.errors import Refused
from mlvc_tui.engine.git.ids import object_id

__all__ = ["RetryingStore", "add_object"]

_WAIT = 0.005
_ATTEMPTS = 400  # about two seconds for another writer to finish one object


def add_object(store: BaseObjectStore, obj: ShaFile) -> None:
    """``store.add_object(obj)``, waiting out a concurrent writer of the same object."""
    for _ in range(_ATTEMPTS):
        try:
            store.add_object(obj)
            return
        except FileLocked:
            if obj.id in store:
                return
            time.sleep(_WAIT)
    raise Refused(
        f"object {obj.id.decode('ascii')[:8]} stays locked by another writer "
        "(a stale .lock file under .git/objects?): nothing was changed"
    )


class RetryingStore:
    """An object store whose ``add_object`` waits out concurrent writers (for dulwich code
    that writes through the store it is given, such as notes trees)."""

    def __init__(self, store: BaseObjectStore) -> None:
        self._store = store

    def add_object(self, obj: ShaFile) -> None:
        add_object(self._store, obj)

    def __getitem__(self, sha: bytes) -> ShaFile:
        return self._store[object_id(sha)]

    def __contains__(self, sha: object) -> bool:
        return isinstance(sha, bytes) and object_id(sha) in self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)
