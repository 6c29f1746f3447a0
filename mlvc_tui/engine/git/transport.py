"""Talking to a git server through dulwich's client: smart HTTP (with basic auth), ssh,
git:// and local paths. Everything here speaks ref names and hex ids.

``list_refs`` asks the server what it has; ``fetch_objects`` brings the objects of the refs
a caller wants; ``send_updates`` sends one push (atomic when asked) whose every ref update
carries the id the caller expects to replace, and reports per ref what the server said,
with the server's own messages (hook output) kept for a one-line reason.
Failures a user can cause (wrong URL, failed login, a server that is not there) become
``RemoteError`` with one line.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dulwich.client import GitClient, HTTPUnauthorized, LocalGitClient, get_transport_and_path
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.objects import ZERO_SHA, Commit, Tag
from dulwich.repo import Repo

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.git.ids import HEAD, ObjectID, Ref, hex_of, object_id, ref_name
from mlvc_tui.engine.git.objects import decode, encode

if TYPE_CHECKING:
    from dulwich.pack import UnpackedObject

__all__ = [
    "ZERO",
    "PushOutcome",
    "RemoteError",
    "fetch_objects",
    "is_ancestor",
    "list_refs",
    "peel",
    "redact",
    "send_updates",
]

ZERO = ZERO_SHA.decode("ascii")
Progress = Callable[[bytes], None]


class RemoteError(BadInput):
    """The server cannot be used as given: wrong URL, failed login, not reachable."""


def redact(url: str) -> str:
    """A URL with any password replaced by `***` (for messages)."""
    if "://" in url and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = url.split("://", 1)
        auth, host = rest.split("@", 1)
        user = auth.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in auth else url
    return url


def _client(url: str) -> tuple[GitClient, str]:
    ssh = os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH")
    try:
        return get_transport_and_path(url, ssh_command=ssh)
    except ValueError as exc:
        raise RemoteError(f"{redact(url)}: not a git URL ({exc})") from None


def _explain(url: str, exc: BaseException) -> RemoteError:
    """One line for why talking to ``url`` failed."""
    where = redact(url)
    if isinstance(exc, HTTPUnauthorized):
        return RemoteError(f"{where}: login failed (check the user name and password)")
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, NotGitRepository) or "404" in text or "not found" in text.lower():
        return RemoteError(f"{where}: no git repository there")
    if isinstance(exc, (ConnectionError, socket.error)) or "refused" in text.lower():
        return RemoteError(f"{where}: cannot connect ({text})")
    if isinstance(exc, HangupException):
        return RemoteError(f"{where}: the server hung up (wrong path, or it is not a git server)")
    return RemoteError(f"{where}: {text}")


_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    GitProtocolError,
    NotGitRepository,
    OSError,
    HTTPUnauthorized,
)
try:  # urllib3 (dulwich's HTTP client) raises its own errors for unreachable hosts
    import urllib3.exceptions

    _TRANSPORT_ERRORS += (urllib3.exceptions.HTTPError,)
except ImportError:  # pragma: no cover
    pass


def _clean(refs: Mapping[Ref, ObjectID | None]) -> dict[str, str]:
    return {
        decode(k): hex_of(v)
        for k, v in refs.items()
        if v is not None and not k.endswith(b"^{}") and k != HEAD
    }


def list_refs(url: str) -> dict[str, str]:
    """Every ref on the server -> id (peeled entries and HEAD left out)."""
    client, path = _client(url)
    try:
        result = client.get_refs(encode(path))
    except _TRANSPORT_ERRORS as exc:
        raise _explain(url, exc) from None
    return _clean(result.refs)


def fetch_objects(
    repo: Repo,
    url: str,
    wanted: Callable[[str], bool],
    progress: Progress | None = None,
) -> dict[str, str]:
    """Bring the objects of every server ref ``wanted(name)`` accepts; all server refs."""
    client, path = _client(url)
    store = repo.object_store

    def determine_wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
        out: list[ObjectID] = []
        for name, sha in refs.items():
            if sha is None or sha == ZERO_SHA or name.endswith(b"^{}") or name == HEAD:
                continue
            if wanted(decode(name)) and sha not in store and sha not in out:
                out.append(sha)
        return out

    git = shutil.which("git")
    try:
        if git is None or isinstance(client, LocalGitClient):
            result = client.fetch(encode(path), repo, determine_wants, progress=progress)
        else:
            indexer = _GitIndexPack(git, repo)
            try:
                result = client.fetch_pack(
                    encode(path),
                    determine_wants,
                    repo.get_graph_walker(),
                    indexer.write,
                    progress=progress,
                )
            except BaseException:
                indexer.abort()
                raise
            indexer.finish()
    except _TRANSPORT_ERRORS as exc:
        raise _explain(url, exc) from None
    return _clean(result.refs)


class _GitIndexPack:
    """The fetched pack goes to `git index-pack --stdin --fix-thin` (C speed, not Python).

    dulwich speaks the protocol; git's own indexer writes the pack and its index, as
    `git fetch` does. Started on the first byte (a fetch with nothing new sends no pack).
    """

    def __init__(self, git: str, repo: Repo) -> None:
        self.git, self.repo = git, repo
        self.proc: subprocess.Popen[bytes] | None = None

    def write(self, data: bytes) -> int:
        if self.proc is None:
            env = {**os.environ, "GIT_DIR": self.repo.controldir()}
            self.proc = subprocess.Popen(
                [self.git, "index-pack", "--stdin", "--fix-thin"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
            )
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
        except BrokenPipeError:
            self.finish()  # raises with git's reason
            raise
        return len(data)

    def finish(self) -> None:
        if self.proc is None:
            return
        _, err = self.proc.communicate()
        if self.proc.returncode != 0:
            raise GitProtocolError(f"git index-pack failed: {err.decode(errors='replace')}")
        refresh = getattr(self.repo.object_store, "_update_pack_cache", None)
        if refresh is not None:
            refresh()

    def abort(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass(frozen=True)
class PushOutcome:
    """What the server said about one push."""

    ok: bool
    statuses: dict[str, str | None]  # ref -> None when updated, else the server's reason
    messages: tuple[str, ...] = ()  # lines the server printed (hook output, progress)
    moved: dict[str, str] = field(default_factory=dict)  # refs not at the expected id

    def reason(self) -> str:
        """One line: the hook's own words when it gave some, else the first ref's status."""
        said = [m for m in self.messages if m.startswith("mlvc: ")]
        if said:
            return said[-1].removeprefix("mlvc: ")
        if self.moved:
            ref, now = next(iter(self.moved.items()))
            return f"{ref} is at {now[:8]} on the server, not where it was expected"
        for ref, why in self.statuses.items():
            if why:
                return f"{ref}: {why}"
        return "the server refused the push"


def send_updates(
    repo: Repo,
    url: str,
    updates: Mapping[str, tuple[str, str]],
    *,
    atomic: bool = True,
    progress: Progress | None = None,
) -> PushOutcome:
    """Push ``ref -> (expected old id or ZERO, new id or ZERO)`` in one request.

    Nothing is sent when a ref is not at the expected id on the server (``moved``); with
    ``atomic`` the server applies all updates or none.
    """
    client, path = _client(url)
    lines: list[str] = []
    buffer = bytearray()
    moved: dict[str, str] = {}

    def on_progress(data: bytes) -> None:
        buffer.extend(data)
        *done, rest = bytes(buffer).replace(b"\r", b"\n").split(b"\n")
        lines.extend(decode(line).strip() for line in done if line.strip())
        buffer[:] = rest
        if progress:
            progress(data)

    def update_refs(refs: dict[Ref, ObjectID]) -> dict[Ref, ObjectID]:
        for ref, (old, _) in updates.items():
            now = refs.get(ref_name(ref), ZERO_SHA) or ZERO_SHA
            if hex_of(now) != old:
                moved[ref] = hex_of(now)
        if moved:
            return dict(refs)  # nothing changes
        out = dict(refs)
        for ref, (_, new) in updates.items():
            out[ref_name(ref)] = object_id(new)
        return out

    def generate_pack_data(
        have: AbstractSet[ObjectID],
        want: AbstractSet[ObjectID],
        *,
        ofs_delta: bool = True,
        progress: Progress | None = None,
    ) -> tuple[int, Iterator[UnpackedObject]]:
        present = {h for h in have if h in repo.object_store}
        # as Repo.generate_pack_data, whose annotation says str progress (dulwich sends bytes)
        return repo.object_store.generate_pack_data(
            present, set(want), shallow=repo.get_shallow(), progress=progress, ofs_delta=ofs_delta
        )

    try:
        result = client.send_pack(
            encode(path), update_refs, generate_pack_data, progress=on_progress, atomic=atomic
        )
    except _TRANSPORT_ERRORS as exc:
        raise _explain(url, exc) from None
    if buffer.strip():
        lines.append(decode(bytes(buffer)).strip())
    if moved:
        return PushOutcome(False, {}, tuple(lines), moved)
    statuses = {decode(k): v for k, v in (result.ref_status or {}).items()}
    ok = all(v is None for v in statuses.values())
    return PushOutcome(ok, statuses, tuple(_strip_remote(lines)))


def _strip_remote(lines: Iterable[str]) -> list[str]:
    return [line.removeprefix("remote: ").strip() for line in lines]


def peel(repo: Repo, sha: str) -> str | None:
    """The commit an id names (annotated tags followed); None for other objects."""
    try:
        obj = repo.object_store[object_id(sha)]
        while isinstance(obj, Tag):
            obj = repo.object_store[obj.object[1]]
    except KeyError:
        return None
    return obj.id.decode("ascii") if isinstance(obj, Commit) else None


def is_ancestor(repo: Repo, ancestor: str, commit: str, limit: int = 100_000) -> bool:
    """Whether ``ancestor`` is ``commit`` or reachable from it (objects must be local)."""
    if ancestor == commit:
        return True
    target = object_id(ancestor)
    if target not in repo.object_store:
        return False
    seen: set[ObjectID] = set()
    todo = [object_id(commit)]
    while todo and len(seen) < limit:
        sha = todo.pop()
        if sha in seen:
            continue
        seen.add(sha)
        if sha == target:
            return True
        try:
            obj = repo.object_store[sha]
        except KeyError:
            continue
        if isinstance(obj, Commit):
            todo.extend(obj.parents)
    return False
