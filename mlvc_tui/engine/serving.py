"""Serving from a URL: resolve ``models:/<name>@<env>`` or ``models:/<name>/<version>`` on a
registry (a URL or a local path), fetch only what that needs (the one ref, shallow, and the
one LFS object) into ``$XDG_CACHE_HOME/mlvc``, and load it after its sha256 matches the
lineage record. A second resolve when the ref has not moved costs one ref listing.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlvc_tui.engine.cachedir import cache_root
from mlvc_tui.engine.errors import BadInput, RefNotFound, Refused
from mlvc_tui.engine.git.files import listdir, open_lfs, stat
from mlvc_tui.engine.git.lfs import LfsPointer, LfsStore
from mlvc_tui.engine.git.lfs_transfer import redact
from mlvc_tui.engine.git.remote_read import cache_repo, fetch_commit, has_commit, ls_remote
from mlvc_tui.engine.models import ModelIntegrityError, load_model, read_record
from mlvc_tui.engine.registry import Registry
from mlvc_tui.engine.values import Storage

__all__ = [
    "CacheFull",
    "ModelUri",
    "ModelWatcher",
    "ResolvedModel",
    "cache_root",
    "clear_cache",
    "load_remote_model",
    "local_target",
    "parse_model_uri",
    "resolve_model",
]

_URI = re.compile(r"models:/(?P<name>[^/@]+)(?:@(?P<env>[^/]+)|/(?P<version>[^/]+))")


class CacheFull(Refused):
    """The model cache's disk is full; nothing partial was kept."""


@dataclass(frozen=True, slots=True)
class ModelUri:
    """What a model URI names: a model on an environment branch, or a version tag; or (the
    path+ref form) a path on a ref."""

    name: str | None = None
    env: str | None = None
    version: str | None = None
    path: str | None = None
    ref: str | None = None


def parse_model_uri(uri: str, ref: str | None = None) -> ModelUri:
    """``models:/model@prod``, ``models:/model/1.2.0`` (or ``v1.2.0``), else a path (+ref)."""
    if uri.startswith("models:"):
        m = _URI.fullmatch(uri)
        if m is None:
            raise BadInput(f"{uri!r}: use models:/<name>@<env> or models:/<name>/<version>")
        return ModelUri(m["name"], m["env"], m["version"])
    return ModelUri(path=uri or None, ref=ref)


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """What a model URI resolved to on a registry, and where its bytes are locally."""

    uri: str
    registry: str  # without a password
    ref: str  # the remote ref (refs/heads/prod, refs/tags/model@v1.2.0)
    commit: str
    version: str | None
    path: str
    storage: str
    lfs_oid: str | None
    sha256: str | None  # from the lineage record
    size: int | None
    format: str | None
    local_path: str
    cache: str
    fetched: bool  # whether git objects were fetched this time
    downloaded: bool  # whether the model's bytes were downloaded this time

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _location(registry: str | os.PathLike[str]) -> tuple[str, Path | None]:
    """(URL for git, the local repository when the registry is a path)."""
    text = os.fspath(registry)
    if "://" in text or re.match(r"^[^/\\]+@[^/:]+:", text):
        return text, None
    local = Path(text).resolve()
    if not local.exists():
        raise BadInput(f"no registry at {text}: not a URL and no such folder")
    git_dir = local / ".git" if (local / ".git").exists() else local
    return str(local), git_dir


@contextmanager
def _disk(cache: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise CacheFull(
                f"the model cache at {cache} is out of disk space: free some or set "
                "XDG_CACHE_HOME elsewhere; nothing partial was kept"
            ) from None
        raise


def _remote_ref(uri: ModelUri, refs: dict[str, str], where: str) -> tuple[str, str | None]:
    """(remote ref, version) a URI names among the remote's refs."""
    if uri.env:
        want = f"refs/heads/{uri.env}"
        if want not in refs:
            envs = sorted(
                r.removeprefix("refs/heads/") for r in refs if r.startswith("refs/heads/")
            )
            raise RefNotFound(f"{where} has no branch {uri.env} (branches: {', '.join(envs)})")
        return want, None
    if uri.version:
        version = uri.version if uri.version.startswith("v") else f"v{uri.version}"
        want = f"refs/tags/{uri.name}@{version}"
        if want not in refs:
            raise RefNotFound(f"{where} has no version {uri.name}@{version}")
        return want, version.removeprefix("v")
    ref = uri.ref or "prod"
    for want in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
        if want in refs:
            return want, None
    stem = Path(uri.path or "models/model").name.split(".", 1)[0]
    if f"refs/tags/{stem}@{ref}" in refs:
        return f"refs/tags/{stem}@{ref}", ref.removeprefix("v")
    raise RefNotFound(f"{where} has no ref {ref}")


def _model_path(reg: Registry, commit: str, uri: ModelUri) -> str:
    if uri.path:
        return uri.path.strip("/")
    if not uri.name:
        found = reg.model_path(commit)
        if found is None:
            raise BadInput(f"no model at {commit[:12]}: name its path (e.g. models/model.pkl)")
        return found
    try:
        entries = listdir(reg, commit, "models")
    except BadInput:
        entries = []
    named = [
        e.path
        for e in entries
        if not e.path.endswith(".lineage.json") and Path(e.path).name.split(".", 1)[0] == uri.name
    ]
    if not named:
        raise BadInput(f"no model {uri.name} (models/{uri.name}.*) at {commit[:12]}")
    return sorted(named)[0]


def _import_local(src: Path, store: LfsStore, pointer: LfsPointer) -> None:
    """Copy an object from a local registry's LFS store, sha256-checked on the way."""
    source = LfsStore(src)
    if not source.has(pointer.oid, pointer.size):
        raise BadInput(f"LFS object {pointer.oid[:12]} is not in {src}'s LFS store")
    fd, temp = tempfile.mkstemp(dir=store.temp_dir(), prefix=f"{pointer.oid[:12]}-")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, source.path_of(pointer.oid).open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != pointer.oid:
            raise ModelIntegrityError(f"LFS object {pointer.oid[:12]} in {src} is corrupt")
        store.adopt(temp, pointer.oid, hashed=True)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def resolve_model(
    uri: str,
    registry: str | os.PathLike[str],
    *,
    ref: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    trust: bool = False,
) -> ResolvedModel:
    """Resolve a model URI on a registry and bring its bytes into the cache (verified)."""
    parsed = parse_model_uri(uri, ref)
    url, local = _location(registry)
    where = redact(url)
    refs = ls_remote(url)
    remote_ref, version = _remote_ref(parsed, refs, where)
    commit = refs[remote_ref]
    key = hashlib.sha256(where.encode()).hexdigest()[:16]
    root = Path(cache) if cache else cache_root()
    repo_dir = root / "registries" / f"{key}.git"
    local_ref = (
        remote_ref.replace("refs/heads/", "refs/remotes/origin/", 1)
        if remote_ref.startswith("refs/heads/")
        else remote_ref
    )
    with _disk(root):
        cache_repo(repo_dir, url)
        fetched = not has_commit(repo_dir, commit)
        if fetched:
            fetch_commit(repo_dir, url, remote_ref, commit, local_ref)
        with Registry.open(repo_dir) as reg:
            path = _model_path(reg, commit, parsed)
            record = read_record(reg, commit, path)
            if record is None and not trust:
                raise ModelIntegrityError(
                    f"{path} at {remote_ref} has no lineage record: refusing to serve bytes "
                    "that cannot be checked; pass trust=True to use it anyway"
                )
            info = stat(reg, commit, path)
            store = LfsStore(reg.repo.controldir())
            downloaded = False
            if info.type == "directory":
                from mlvc_tui.engine.folder_models import load_folder

                local_path = load_folder(reg, commit, path, record, root, trust).path
            elif info.storage is Storage.LFS:
                pointer = LfsPointer(info.id, info.size or 0)
                if record and record.get("sha256") != pointer.oid and not trust:
                    raise ModelIntegrityError(
                        f"{path} at {remote_ref}: its LFS object is {pointer.oid[:12]}, the "
                        f"lineage record says {str(record.get('sha256'))[:12]}; not loaded"
                    )
                downloaded = not store.has(pointer.oid, pointer.size)
                if downloaded and local is not None:
                    _import_local(local, store, pointer)
                elif downloaded:
                    open_lfs(reg, pointer, f"{path} at {remote_ref}", local_ref).close()
                local_path = store.path_of(pointer.oid)
            else:
                local_path = _blob_copy(reg, root, commit, path, trust)
    return ResolvedModel(
        uri=uri,
        registry=where,
        ref=remote_ref,
        commit=commit,
        version=version,
        path=path,
        storage=str(info.storage.value if info.storage else info.type),
        lfs_oid=info.id if info.storage is Storage.LFS else None,
        sha256=(record or {}).get("sha256"),
        size=info.size,
        format=(record or {}).get("format"),
        local_path=str(local_path),
        cache=str(repo_dir),
        fetched=fetched,
        downloaded=downloaded,
    )


def _blob_copy(reg: Registry, root: Path, commit: str, path: str, trust: bool) -> Path:
    """A model kept as a plain blob, copied out once per content into the cache."""
    from mlvc_tui.engine.models import fetch_model

    info = stat(reg, commit, path)
    target = root / "blobs" / info.id / Path(path).name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fetch_model(reg, target, path, ref=commit, trust=trust)
    return target


def load_remote_model(
    uri: str,
    registry: str | os.PathLike[str],
    *,
    ref: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    format: str | None = None,
    trust: bool = False,
    **options: Any,
) -> tuple[object, ResolvedModel]:
    """The model a URI names on a registry (checked against its lineage record), and what
    it resolved to."""
    found = resolve_model(uri, registry, ref=ref, cache=cache, trust=trust)
    with Registry.open(found.cache) as reg:
        model = load_model(reg, found.path, ref=found.commit, format=format, trust=trust, **options)
    return model, found


class ModelWatcher:
    """Hot swap for long-running servers: ``poll()`` lists the registry's refs and hands
    back the new model when the ref moved (None otherwise); ``start(on_change)`` polls in
    a daemon thread every ``interval`` seconds."""

    def __init__(
        self, uri: str, registry: str | os.PathLike[str], interval: float = 30.0, **kw: Any
    ) -> None:
        self.uri, self.registry, self.interval, self.kw = uri, registry, interval, kw
        self.model, self.resolved = load_remote_model(uri, registry, **kw)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> object | None:
        """The new model when the URI now resolves to another commit, else None."""
        parsed = parse_model_uri(self.uri, self.kw.get("ref"))
        url, _ = _location(self.registry)
        refs = ls_remote(url)
        remote_ref, _ = _remote_ref(parsed, refs, redact(url))
        if refs[remote_ref] == self.resolved.commit:
            return None
        self.model, self.resolved = load_remote_model(self.uri, self.registry, **self.kw)
        return self.model

    def start(self, on_change: Callable[[object, ResolvedModel], None]) -> None:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    new = self.poll()
                except Refused:
                    continue  # server away: keep serving the current model
                if new is not None:
                    on_change(new, self.resolved)

        self._thread = threading.Thread(target=loop, name="mlvc-model-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)


def clear_cache(root: Path | None = None) -> None:
    """Remove the whole model cache."""
    shutil.rmtree(root or cache_root(), ignore_errors=True)


def local_target(reg: Registry, uri: str) -> tuple[str, str]:
    """(ref, path) a ``models:/`` URI names in a registry opened here."""
    parsed = parse_model_uri(uri)
    if parsed.env:
        ref = parsed.env
    else:
        version = parsed.version or ""
        ref = f"{parsed.name}@{version if version.startswith('v') else 'v' + version}"
    commit = reg.resolve(ref)
    return ref, _model_path(reg, commit, parsed)
