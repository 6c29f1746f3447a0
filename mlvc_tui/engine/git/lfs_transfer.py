"""The Git LFS batch API, spoken by mlvc itself: uploads and downloads through any LFS
server (giftless, GitHub, GitLab, Gitea), with basic or token auth, retries with back-off,
resumed downloads where the server honours ``Range``, and progress callbacks.

Bytes are streamed in 1 MB chunks both ways: memory stays bounded whatever the size. A
download is hashed while it is written to a temp file in the store's ``tmp/`` and renamed
into ``objects/`` only when its sha256 and size match the pointer: a corrupted object is
refused and nothing is cached.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import http.client
import json
import os
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from mlvc_tui.engine.errors import BadInput, Refused
from mlvc_tui.engine.git.lfs import LfsPointer, LfsStore

__all__ = ["LfsAuthError", "LfsClient", "LfsTransferError", "Progress", "redact"]

CHUNK = 1 << 20
_T = TypeVar("_T")
_LOCAL_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EFBIG)
MEDIA = "application/vnd.git-lfs+json"
Progress = Callable[[str, int, int], None]  # (oid, bytes done, total)


class LfsTransferError(Refused):
    """An LFS transfer failed (server down, object missing, object corrupt)."""


class LfsAuthError(LfsTransferError):
    """The LFS server refused the credentials (HTTP 401/403)."""


def redact(url: str) -> str:
    """A URL without its password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


class _Retry(Exception):
    """A failure worth another attempt (connection lost, 5xx, 429)."""


@dataclass(slots=True)
class _Download:
    """How far one object's download got: bytes in, and their sha256 so far."""

    done: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)


@dataclass(frozen=True, slots=True)
class _Action:
    href: str
    header: dict[str, str]


class LfsClient:
    """A client of one LFS endpoint (``.../info/lfs``).

    Credentials: ``user:password@`` in the URL or ``username``/``password`` (basic), or
    ``token`` (``Authorization: Bearer``). Object links carry the server's own headers.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        retries: int | None = None,
        backoff: float = 0.25,
        timeout: float = 60.0,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise BadInput(f"LFS endpoint {redact(url)} is not an http(s) URL")
        username = username or (urllib.parse.unquote(parts.username) if parts.username else None)
        password = password or (urllib.parse.unquote(parts.password) if parts.password else None)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        self.url = urllib.parse.urlunsplit(parts._replace(netloc=netloc)).rstrip("/")
        self.auth: dict[str, str] = {}
        if token:
            self.auth["Authorization"] = f"Bearer {token}"
        elif username is not None:
            pair = f"{username}:{password or ''}".encode()
            self.auth["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        if retries is None:  # $MLVC_LFS_RETRIES, else 4 (waits 0.25, 0.5, 1, 2 s)
            retries = int(os.environ.get("MLVC_LFS_RETRIES") or 4)
        self.retries, self.backoff, self.timeout = retries, backoff, timeout

    # -- HTTP -------------------------------------------------------------------------------
    def _connect(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        parts = urllib.parse.urlsplit(url)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = kind(parts.hostname or "", parts.port, timeout=self.timeout, blocksize=CHUNK)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        return conn, target or "/"

    def _check(self, resp: http.client.HTTPResponse, what: str) -> None:
        if resp.status in (401, 403):
            raise LfsAuthError(
                f"the LFS server at {self.url} refused the credentials for {what} "
                f"(HTTP {resp.status}): check the user and password or token"
            )
        if resp.status == 429 or resp.status >= 500:
            raise _Retry(f"HTTP {resp.status} for {what}")

    def _attempts(self, what: str, attempt: Callable[[], _T]) -> _T:
        """Run ``attempt`` until it succeeds, sleeping more after each retryable failure."""
        last = ""
        for n in range(self.retries + 1):
            try:
                return attempt()
            except _Retry as exc:
                last = str(exc)
            except (OSError, http.client.HTTPException) as exc:
                if isinstance(exc, OSError) and exc.errno in _LOCAL_ERRORS:
                    raise  # the local disk, not the network: another attempt cannot help
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if n < self.retries:
                time.sleep(self.backoff * (2**n))
        raise LfsTransferError(
            f"LFS {what} failed after {self.retries + 1} attempts ({last}); nothing was changed"
        )

    def batch(self, operation: str, objects: Iterable[LfsPointer]) -> dict[str, dict[str, Any]]:
        """The server's answer per oid: ``{"actions": {...}}`` or ``{"error": {...}}``."""
        wanted = [{"oid": p.oid, "size": p.size} for p in objects]
        body = json.dumps(
            {"operation": operation, "transfers": ["basic"], "objects": wanted}
        ).encode()
        headers = {"Content-Type": MEDIA, "Accept": MEDIA, **self.auth}

        def attempt() -> dict[str, Any]:
            conn, target = self._connect(f"{self.url}/objects/batch")
            try:
                conn.request("POST", target, body, headers)
                resp = conn.getresponse()
                self._check(resp, f"the {operation} batch")
                data = resp.read()
                if resp.status == 404 and operation == "download":
                    return {"objects": []}  # giftless: none of the objects is there
                if resp.status != 200:
                    raise LfsTransferError(
                        f"the LFS server at {self.url} answered HTTP {resp.status} to the "
                        f"{operation} batch: {data[:200].decode('utf-8', 'replace').strip()}"
                    )
                doc = json.loads(data)
                if not isinstance(doc, dict):
                    raise ValueError("a batch answer is a JSON object")
                return doc
            finally:
                conn.close()

        try:
            answer = self._attempts(f"{operation} batch at {self.url}", attempt)
        except ValueError:
            raise LfsTransferError(
                f"the LFS server at {self.url} sent a batch that is not a JSON object"
            ) from None
        return {o.get("oid", ""): o for o in answer.get("objects", [])}

    @staticmethod
    def _action(entry: dict[str, Any], name: str) -> _Action | None:
        error = entry.get("error")
        if error:
            code = error.get("code", "?")
            if code in (401, 403):
                raise LfsAuthError(f"the LFS server refused access: {error.get('message', '')}")
            raise LfsTransferError(
                f"the LFS server has no object {entry.get('oid', '')[:12]} "
                f"({code}: {error.get('message', '')})"
            )
        action = (entry.get("actions") or {}).get(name)
        if not action:
            return None
        return _Action(action["href"], dict(action.get("header") or {}))

    # -- downloads ---------------------------------------------------------------------------
    def download(
        self, pointer: LfsPointer, store: LfsStore, progress: Progress | None = None
    ) -> Path:
        """Fetch one object into ``store`` (sha256-checked while streaming); its path."""
        if store.has(pointer.oid, pointer.size):
            return store.path_of(pointer.oid)
        return self.download_many([pointer], store, progress)[0]

    def download_many(
        self, pointers: Iterable[LfsPointer], store: LfsStore, progress: Progress | None = None
    ) -> list[Path]:
        """Fetch the objects not yet in ``store``; the paths of all of them, in order."""
        pointers = list(pointers)
        missing = {p.oid: p for p in pointers if not store.has(p.oid, p.size)}
        if missing:
            answers = self.batch("download", missing.values())
            for oid, pointer in missing.items():
                missing_entry = {"oid": oid, "error": {"code": 404, "message": "not found"}}
                action = self._action(answers.get(oid, missing_entry), "download")
                if action is None:
                    raise LfsTransferError(f"the LFS server offers no download of {oid[:12]}")
                self._fetch(action, pointer, store, progress)
        return [store.path_of(p.oid) for p in pointers]

    def _fetch(
        self, action: _Action, pointer: LfsPointer, store: LfsStore, progress: Progress | None
    ) -> None:
        fd, temp = tempfile.mkstemp(dir=store.temp_dir(), prefix=f"{pointer.oid[:12]}-")
        state = _Download()
        try:
            with os.fdopen(fd, "wb") as out:

                def attempt() -> None:
                    self._stream_into(action, pointer, out, state, progress)

                self._attempts(f"download of {pointer.oid[:12]}", attempt)
            digest = state.digest.hexdigest()
            if state.done != pointer.size or digest != pointer.oid:
                raise LfsTransferError(
                    f"the LFS server sent a corrupt object for {pointer.oid[:12]}: "
                    f"{state.done} bytes hashing to {digest[:12]}, expected "
                    f"{pointer.size} bytes; refused, nothing cached"
                )
            store.adopt(temp, pointer.oid, hashed=True)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _stream_into(
        self,
        action: _Action,
        pointer: LfsPointer,
        out: Any,
        state: _Download,
        progress: Progress | None,
    ) -> None:
        """One GET, resumed from ``state.done`` with ``Range`` when bytes are already in."""
        headers = {**action.header}
        if "Authorization" not in headers and self._same_origin(action.href):
            headers.update(self.auth)
        if state.done:
            headers["Range"] = f"bytes={state.done}-"
        conn, target = self._connect(action.href)
        try:
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            self._check(resp, f"object {pointer.oid[:12]}")
            if resp.status == 200 and state.done:  # Range ignored: start again
                out.seek(0)
                out.truncate()
                state.done, state.digest = 0, hashlib.sha256()
            elif resp.status not in (200, 206):
                raise LfsTransferError(
                    f"the LFS server answered HTTP {resp.status} for object {pointer.oid[:12]}"
                )
            while chunk := resp.read(CHUNK):
                if state.done + len(chunk) > pointer.size:
                    raise LfsTransferError(
                        f"the LFS server sent more than {pointer.size} bytes for "
                        f"{pointer.oid[:12]}; refused, nothing cached"
                    )
                out.write(chunk)
                state.digest.update(chunk)
                state.done += len(chunk)
                if progress:
                    progress(pointer.oid, state.done, pointer.size)
            if state.done < pointer.size:
                raise _Retry(f"connection closed after {state.done} of {pointer.size} bytes")
        finally:
            conn.close()

    def _same_origin(self, href: str) -> bool:
        a, b = urllib.parse.urlsplit(href), urllib.parse.urlsplit(self.url)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)

    # -- uploads -----------------------------------------------------------------------------
    def upload_many(
        self, pointers: Iterable[LfsPointer], store: LfsStore, progress: Progress | None = None
    ) -> int:
        """Upload the objects the server lacks (from ``store``); how many were sent.

        An object the server already has need not be here (a lazy clone never fetched it);
        one the server lacks and ``store`` does not hold stops everything before any byte
        is sent (BadInput).
        """
        pointers = list({p.oid: p for p in pointers}.values())
        if not pointers:
            return 0
        answers = self.batch("upload", pointers)
        todo = []
        for p in pointers:
            entry = answers.get(p.oid, {"oid": p.oid})
            action = self._action(entry, "upload")
            if action is None:  # the server has it already
                continue
            if not store.has(p.oid, p.size):
                raise BadInput(
                    f"LFS object {p.oid[:12]} ({p.size} bytes) is neither on the LFS server nor "
                    "in the local LFS store: cannot push it (fetch it where it was made)"
                )
            todo.append((p, action, self._action(entry, "verify")))
        for p, action, verify in todo:
            path = store.path_of(p.oid)
            self._attempts(f"upload of {p.oid[:12]}", partial(self._put, action, p, path, progress))
            if verify is not None:
                self._attempts(f"verify of {p.oid[:12]}", partial(self._verify, verify, p))
        return len(todo)

    def _put(self, action: _Action, p: LfsPointer, path: Path, progress: Progress | None) -> None:
        headers = {**action.header, "Content-Type": "application/octet-stream"}
        headers["Content-Length"] = str(p.size)
        if "Authorization" not in action.header and self._same_origin(action.href):
            headers.update(self.auth)
        conn, target = self._connect(action.href)
        try:
            with path.open("rb") as fh:
                conn.putrequest("PUT", target, skip_accept_encoding=True)
                for key, value in headers.items():
                    conn.putheader(key, value)
                conn.endheaders()
                done = 0
                while chunk := fh.read(CHUNK):
                    conn.send(chunk)
                    done += len(chunk)
                    if progress:
                        progress(p.oid, done, p.size)
            resp = conn.getresponse()
            self._check(resp, f"the upload of {p.oid[:12]}")
            resp.read()
            if resp.status not in (200, 201):
                raise LfsTransferError(f"the LFS server answered HTTP {resp.status} to an upload")
        finally:
            conn.close()

    def _verify(self, action: _Action, p: LfsPointer) -> None:
        headers = {**action.header, "Content-Type": MEDIA, "Accept": MEDIA}
        conn, target = self._connect(action.href)
        try:
            conn.request("POST", target, json.dumps({"oid": p.oid, "size": p.size}), headers)
            resp = conn.getresponse()
            self._check(resp, f"the verify of {p.oid[:12]}")
            resp.read()
            if resp.status != 200:
                raise LfsTransferError(
                    f"the LFS server did not verify {p.oid[:12]} (HTTP {resp.status})"
                )
        finally:
            conn.close()
