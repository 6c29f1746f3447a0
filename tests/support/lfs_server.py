"""A real Git LFS server for tests: giftless 0.6.2 with local storage, served by waitress.

giftless answers the batch API at ``<prefix>/<org>/<repo>.git/info/lfs/objects/batch`` and
hands out upload/download links under ``.../objects/storage/<oid>`` signed with a short
JWT. In front of the batch API sits what a team's reverse proxy does (lighttpd or nginx
with htpasswd): basic auth, or a bearer token. Object links pass (giftless checks its JWT).

Mounted under ``prefix`` (say ``/git``) the WSGI server passes ``SCRIPT_NAME``, so giftless'
links keep the prefix; a lighttpd in front of `git http-backend` on the same origin can
proxy ``^/git/.*\\.git/info/lfs/`` to it (one URL for git and LFS).

    with LfsServer(tmp_path, users={"ana": "s3cret"}) as lfs:
        lfs.url("team/registry")   # http://127.0.0.1:P/git/team/registry.git/info/lfs

Run as ``python -m tests.support.lfs_server CONFIG PREFIX AUTH_JSON``: prints the bound
port on its first line, then serves until SIGTERM.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["AUTH", "LfsServer", "Published", "giftless_available", "registry_server"]

_CONFIG = """\
AUTH_PROVIDERS:
  - factory: giftless.auth.jwt:factory
    options: {{algorithm: HS256, private_key: test-only-signing-key}}
  - giftless.auth.allow_anon:read_write
PRE_AUTHORIZED_ACTION_PROVIDER:
  factory: giftless.auth.jwt:factory
  options: {{algorithm: HS256, private_key: test-only-signing-key, default_lifetime: 900}}
LEGACY_ENDPOINTS: false
TRANSFER_ADAPTERS:
  basic:
    factory: giftless.transfer.basic_streaming:factory
    options:
      storage_class: giftless.storage.local_storage:LocalStorage
      storage_options: {{path: {storage}}}
"""


def giftless_available() -> bool:
    """Whether giftless and waitress import here (the `test` extra installs them)."""
    try:
        import giftless  # noqa: F401
        import waitress  # noqa: F401
    except ImportError:
        return False
    return True


class LfsServer:
    """giftless on 127.0.0.1 (free port) in its own process group; stop() kills the group."""

    def __init__(
        self,
        root: Path,
        *,
        prefix: str = "/git",
        users: dict[str, str] | None = None,
        tokens: Iterable[str] = (),
        git_root: Path | None = None,
    ) -> None:
        self.root = root
        self.git_root = git_root
        self.prefix = prefix.rstrip("/")
        self.storage = root / "lfs-storage"
        self.users = dict(users or {})
        self.tokens = list(tokens)
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, repo: str = "team/registry", auth: str = "") -> str:
        """The LFS endpoint of a repository path (``auth``: ``user:password`` in the URL)."""
        host = f"{auth}@127.0.0.1:{self.port}" if auth else f"127.0.0.1:{self.port}"
        return f"http://{host}{self.prefix}/{repo}.git/info/lfs"

    def git_url(self, repo: str = "team/registry", auth: str = "") -> str:
        """The git remote URL of a repository under ``git_root`` (same origin as LFS)."""
        return self.url(repo, auth).removesuffix("/info/lfs")

    def object_path(self, oid: str, repo: str = "team/registry") -> Path:
        """Where giftless keeps an object of a repository (to corrupt or delete it)."""
        return self.storage / repo / oid

    def start(self) -> LfsServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(exist_ok=True)
        config = self.root / "giftless.yaml"
        config.write_text(_CONFIG.format(storage=self.storage))
        auth = json.dumps(
            {"users": self.users, "tokens": self.tokens, "git_root": str(self.git_root or "")}
        )
        log = (self.root / "giftless.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.lfs_server",
                str(config),
                self.prefix,
                auth,
                str(self.port),  # 0 the first time; the same port on a restart
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=Path(__file__).resolve().parents[2],
            start_new_session=True,
        )
        log.close()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(
                f"giftless did not start: {(self.root / 'giftless.log').read_text()}"
            )
        self.port = int(line)
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def wipe(self) -> None:
        """Forget every stored object."""
        shutil.rmtree(self.storage, ignore_errors=True)
        self.storage.mkdir()

    def __enter__(self) -> LfsServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


AUTH = "ana:s3cret"  # the user registry_server() lets in
ATTRS = "models/*.pkl filter=lfs diff=lfs merge=lfs -text\n"


def registry_server(root: Path) -> LfsServer:
    """git http-backend + giftless on one origin under ``root``, basic auth for ``AUTH``."""
    (root / "git").mkdir(parents=True, exist_ok=True)
    user, password = AUTH.split(":")
    return LfsServer(root / "lfs", users={user: password}, git_root=root / "git")


class Published:
    """A registry made by mlvc on a training box and published to a `registry_server`
    (git objects pushed with the git CLI, LFS objects uploaded with mlvc's client)."""

    def __init__(self, server: LfsServer) -> None:
        from tests.support.gitrepo import GitRepo

        self.server = server
        assert server.git_root is not None
        self.bare = server.git_root / "team" / "registry.git"
        subprocess.run(["git", "init", "-q", "--bare", str(self.bare)], check=True)
        self.train = GitRepo(server.root.parent / "train")
        self.train.commit("first", {".gitattributes": ATTRS})

    @classmethod
    def with_prod_model(cls, server: LfsServer) -> Published:
        """prod holds model.pkl ``{"weights": [0..999], "version": 1}``, tagged model@v1.0.0."""
        from tests.support.gitrepo import git_env

        saved = {k: os.environ.get(k) for k in git_env() if k.startswith("GIT_")}
        identity = git_env().items()
        os.environ.update({k: v for k, v in identity if k.startswith("GIT_") and "DATE" not in k})
        try:
            reg = cls(server)
            reg.save({"weights": list(range(1000)), "version": 1})
            reg.train.git("tag", "-a", "model@v1.0.0", "-m", "v1.0.0", "prod")
            reg.train.git("push", "-q", str(reg.bare), "--tags")
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return reg

    def save(self, model: object, branch: str = "prod") -> Any:
        import mlvc_tui as mlvc
        from mlvc_tui.engine.git.lfs import LfsPointer, LfsStore
        from mlvc_tui.engine.git.lfs_transfer import LfsClient

        saved = mlvc.save_model(model, "models/model.pkl", repo=self.train.path, branch=branch)
        pointer = LfsPointer(saved.sha256, saved.size)
        store = LfsStore(self.train.path / ".git")
        LfsClient(self.server.url(auth=AUTH)).upload_many([pointer], store)
        self.train.git("push", "-q", "--force", str(self.bare), "--all")
        return saved


def _guard(app: Any, users: dict[str, str], tokens: list[str]) -> Any:
    """What the reverse proxy does: basic auth or a bearer token on the batch API."""
    if not users and not tokens:
        return app
    basics = {"Basic " + base64.b64encode(f"{u}:{p}".encode()).decode() for u, p in users.items()}
    bearers = {f"Bearer {t}" for t in tokens}

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        given = environ.get("HTTP_AUTHORIZATION", "")
        if given in bearers:  # the proxy's own tokens are not giftless' JWTs
            environ.pop("HTTP_AUTHORIZATION")
            return app(environ, start_response)
        if "/objects/storage/" in path or given in basics:
            if given in basics:
                user = base64.b64decode(given.split(" ", 1)[1]).decode().split(":", 1)[0]
                environ["REMOTE_USER"] = user
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("WWW-Authenticate", 'Basic realm="mlvc"'), ("Content-Type", "text/plain")],
        )
        return [b"credentials required\n"]

    return guarded


def _with_git(lfs: Any, git_root: str) -> Any:
    """giftless for ``*.git/info/lfs/`` paths, the real `git http-backend` (run as CGI, as
    lighttpd or Apache would) for every other path: one origin for git and LFS."""
    backend = subprocess.run(
        ["git", "--exec-path"], capture_output=True, text=True, check=True
    ).stdout.strip()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if ".git/info/lfs/" in path:
            return lfs(environ, start_response)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": git_root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "PATH_INFO": path,
            "QUERY_STRING": environ.get("QUERY_STRING", ""),
            "REQUEST_METHOD": environ["REQUEST_METHOD"],
            "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
            "REMOTE_USER": environ.get("REMOTE_USER", ""),
            "REMOTE_ADDR": environ.get("REMOTE_ADDR", "127.0.0.1"),
        }
        for key, value in environ.items():
            if key.startswith("HTTP_") and key != "HTTP_AUTHORIZATION":
                env[key] = value
        if environ.get("HTTP_GIT_PROTOCOL"):
            env["GIT_PROTOCOL"] = environ["HTTP_GIT_PROTOCOL"]
        with tempfile.TemporaryFile() as body:  # the request body, spooled: bounded memory
            shutil.copyfileobj(environ["wsgi.input"], body, 1 << 20)
            env["CONTENT_LENGTH"] = str(body.tell())
            body.seek(0)
            proc = subprocess.Popen(
                [f"{backend}/git-http-backend"], stdin=body, stdout=subprocess.PIPE, env=env
            )
        assert proc.stdout is not None
        status, headers = "200 OK", []
        while (line := proc.stdout.readline().rstrip(b"\r\n")) != b"":
            key, _, value = line.decode("latin-1").partition(":")
            if key.lower() == "status":
                status = value.strip()
            else:
                headers.append((key, value.strip()))
        start_response(status, headers)

        def body_chunks() -> Iterator[bytes]:
            try:
                while chunk := proc.stdout.read1(1 << 16):  # type: ignore[union-attr]
                    yield chunk
            finally:
                proc.stdout.close()  # type: ignore[union-attr]
                proc.wait()

        return body_chunks()

    return app


def _serve(config: str, prefix: str, auth: str, port: int) -> None:
    os.environ["GIFTLESS_CONFIG_FILE"] = config
    import warnings

    warnings.simplefilter("ignore")
    from giftless.app import init_app
    from waitress import create_server

    settings = json.loads(auth)
    app = init_app()
    if settings["git_root"]:
        app = _with_git(app, settings["git_root"])
    app = _guard(app, settings["users"], settings["tokens"])
    server = create_server(  # waitress refuses bodies over 1 GB by default
        app,
        host="127.0.0.1",
        port=port,
        url_prefix=prefix,
        threads=4,
        max_request_body_size=1 << 40,
    )
    print(server.effective_port, flush=True)  # type: ignore[union-attr]
    server.run()


if __name__ == "__main__":
    _serve(*sys.argv[1:4], int(sys.argv[4]))
