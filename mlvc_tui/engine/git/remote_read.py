"""Read-only access to a remote registry: list its refs, fetch one commit (shallow) into a
bare cache repository. Needs no write access to the remote and no working tree.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from dulwich.client import GitClient, get_transport_and_path
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.repo import Repo

from mlvc_tui.engine.errors import Refused
from mlvc_tui.engine.git.ids import ObjectID, Ref, hex_of, object_id, ref_name
from mlvc_tui.engine.git.lfs_transfer import redact

__all__ = ["RemoteUnreachable", "cache_repo", "fetch_commit", "has_commit", "ls_remote"]

PEELED = "^{}"


class RemoteUnreachable(Refused):
    """The registry's server cannot be reached or refused the request."""


def _client(url: str) -> tuple[GitClient, str]:
    parts = urllib.parse.urlsplit(url)
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    if parts.scheme in ("http", "https") and user is not None:
        netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        return get_transport_and_path(url, username=user, password=password)
    return get_transport_and_path(url)


def _failed(url: str, exc: BaseException) -> RemoteUnreachable:
    text = str(exc).strip() or type(exc).__name__
    if any(word in text for word in ("401", "403", "uthentication", "credentials")):
        text = "the server refused the credentials"
    return RemoteUnreachable(f"cannot read the registry at {redact(url)}: {text}")


def ls_remote(url: str) -> dict[str, str]:
    """Every ref of the remote (``refs/heads/prod`` ...) as the commit it names (tags peeled)."""
    client, path = _client(url)
    try:
        result = client.get_refs(path.encode())
    except (OSError, GitProtocolError, HangupException, NotGitRepository) as exc:
        raise _failed(url, exc) from None
    except Exception as exc:  # urllib3 and http errors differ by transport
        raise _failed(url, exc) from None
    out: dict[str, str] = {}
    for name, sha in result.refs.items():
        if sha is None:
            continue
        key = name.decode("utf-8", "surrogateescape")
        if key.endswith(PEELED):
            out[key.removesuffix(PEELED)] = hex_of(sha)
        else:
            out.setdefault(key, hex_of(sha))
    return out


def cache_repo(path: Path, url: str) -> None:
    """A bare repository at ``path`` whose ``origin`` is ``url`` (made when missing)."""
    if not (path / "HEAD").exists():
        path.mkdir(parents=True, exist_ok=True)
        Repo.init_bare(str(path)).close()
    with Repo(str(path)) as repo:
        config = repo.get_config()
        try:
            current = config.get((b"remote", b"origin"), b"url")
        except KeyError:
            current = None
        if current != url.encode():
            config.set((b"remote", b"origin"), b"url", url.encode())
            config.set((b"remote", b"origin"), b"fetch", b"+refs/heads/*:refs/remotes/origin/*")
            config.write_to_path()


def has_commit(path: Path, sha: str) -> bool:
    """Whether the cache already holds the commit."""
    with Repo(str(path)) as repo:
        return object_id(sha) in repo.object_store


def fetch_commit(path: Path, url: str, ref: str, sha: str, local_ref: str) -> None:
    """Fetch the one commit ``sha`` (``ref`` on the remote; depth 1 where the transport
    allows) into the cache at ``path``, and point ``local_ref`` at it."""
    client, remote_path = _client(url)
    with Repo(str(path)) as repo:

        def wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
            found = refs.get(ref_name(ref))
            peeled = refs.get(ref_name(ref + PEELED))
            return [found or peeled or object_id(sha)]

        try:
            try:
                client.fetch(remote_path, repo, determine_wants=wants, depth=1)
            except (NotImplementedError, TypeError, GitProtocolError) as exc:
                if "shallow" not in str(exc).lower() and not isinstance(exc, NotImplementedError):
                    raise
                client.fetch(remote_path, repo, determine_wants=wants)
        except (OSError, HangupException, NotGitRepository, GitProtocolError) as exc:
            if isinstance(exc, OSError) and exc.errno == 28:
                raise
            raise _failed(url, exc) from None
        if object_id(sha) not in repo.object_store:
            raise RemoteUnreachable(f"{redact(url)} did not send commit {sha[:12]} of {ref}")
        repo.refs[ref_name(local_ref)] = object_id(sha)
