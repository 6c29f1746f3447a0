"""Real git servers on 127.0.0.1 for tests: smart HTTP (lighttpd + `git http-backend`),
`git daemon` (git://) and sshd, each on a free port, each stopped by process group.

Every server serves the bare repositories under its `root`; `new_repo(name)` makes one
(ready for pushes). Start one with `start_http(root)`, `start_daemon(root)` or
`start_sshd(root)`, or use the session fixtures in `tests/conftest.py` (`http_server`,
`daemon_server`, `ssh_server`). `stop()` kills the process group and waits.

Smart HTTP: basic auth from an htpasswd file (made with `htpasswd`), users and passwords
given to `start_http`; `REMOTE_USER` reaches the hooks. Extra same-origin locations (an LFS
server, say) are `HttpProxy(url_regex, port)` entries: requests whose path matches go to
`127.0.0.1:port` instead of git, checked before the git location; `open_regex` lists paths
served without basic auth (signed LFS object links, for example).

ssh: sshd runs as root (the only account here) with one generated key per test user; each
key's `authorized_keys` line sets `REMOTE_USER=<user>`, as gitolite does, so hooks see the
pusher the same way under ssh and HTTP. `ssh_command(user)` is the `GIT_SSH_COMMAND`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "HttpProxy",
    "Server",
    "free_port",
    "have",
    "start_daemon",
    "start_http",
    "start_sshd",
]

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
SSHD = "/usr/sbin/sshd"


def have(*programs: str) -> bool:
    """Whether every program (a name on PATH or an absolute path) is installed."""
    return all(
        (os.path.exists(p) if os.path.isabs(p) else shutil.which(p) is not None) for p in programs
    )


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now (asked from the OS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server not listening on {port}: {log.read_text()[-2000:]}")


@dataclass
class Server:
    """A running server: its kind, root of bare repositories, port, process and users."""

    kind: str  # "http" | "git" | "ssh"
    root: Path
    port: int
    proc: subprocess.Popen[bytes]
    users: dict[str, str] = field(default_factory=dict)  # http: password; ssh: key path
    base: str = ""  # URL path prefix the repositories live under

    def new_repo(self, name: str = "registry.git", *, hook_env: bool = True) -> Path:
        """A new empty bare repository under the root that accepts pushes; its path."""
        path = self.root / name
        subprocess.run(["git", "init", "-q", "--bare", "-b", "prod", str(path)], check=True)
        subprocess.run(["git", "-C", str(path), "config", "http.receivepack", "true"], check=True)
        return path

    def url(self, repo: str = "registry.git", user: str | None = None) -> str:
        """The URL of a repository; for http with `user`, the password is in the URL."""
        if self.kind == "http":
            auth = f"{user}:{self.users[user]}@" if user else ""
            return f"http://{auth}127.0.0.1:{self.port}{self.base}/{repo}"
        if self.kind == "git":
            return f"git://127.0.0.1:{self.port}/{repo}"
        return f"ssh://root@127.0.0.1:{self.port}{self.root / repo}"

    def ssh_command(self, user: str) -> str:
        """`GIT_SSH_COMMAND` that logs in as `user` (its key, no host checks, no config)."""
        return (
            f"ssh -F /dev/null -i {self.users[user]} -o IdentitiesOnly=yes -o BatchMode=yes"
            " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
        )

    def env(self, user: str | None = None) -> dict[str, str]:
        """Extra environment a client needs (ssh: the key of `user`)."""
        if self.kind == "ssh" and user:
            return {"GIT_SSH_COMMAND": self.ssh_command(user)}
        return {}

    def stop(self) -> None:
        """Stop the server: SIGTERM to its process group, SIGKILL if it lingers."""
        if self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


@dataclass(frozen=True)
class HttpProxy:
    """A same-origin location proxied to another local server (e.g. LFS under `/git/`)."""

    url_regex: str  # lighttpd regex on the request path, e.g. r"^/git/.*\.git/info/lfs/"
    port: int


def _spawn(cmd: Sequence[str], log: Path, env: dict[str, str] | None = None):
    with log.open("ab") as out:
        return subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )


def start_http(
    root: Path,
    users: dict[str, str] | None = None,
    *,
    proxies: Sequence[HttpProxy] = (),
    open_regex: Sequence[str] = (),
) -> Server:
    """lighttpd serving `git http-backend` at `/git/` for the bare repositories in `root`."""
    users = users or {"trainer1": "s3cret", "trainer2": "s3cret2", "alice": "wonder"}
    root = root.resolve()
    state = root.parent / f"{root.name}.http"
    for d in (root, state, state / "www"):
        d.mkdir(parents=True, exist_ok=True)
    htpasswd = state / "htpasswd"
    for i, (user, password) in enumerate(users.items()):
        flags = "-bcB" if i == 0 else "-bB"
        subprocess.run(
            ["htpasswd", flags, str(htpasswd), user, password], check=True, capture_output=True
        )
    blocks = []
    for p in proxies:
        blocks.append(
            f'$HTTP["url"] =~ "{p.url_regex}" {{\n'
            f'  proxy.server = ("" => (("host" => "127.0.0.1", "port" => {p.port})))\n}}\nelse '
        )
    no_auth = "|".join(f"({r})" for r in open_regex)
    auth = 'auth.require = ("/git/" => ("method" => "basic", "realm" => "mlvc",'
    auth += ' "require" => "valid-user"))'
    if no_auth:
        auth = f'$HTTP["url"] !~ "{no_auth}" {{\n  {auth}\n}}'
    port = free_port()
    conf = state / "lighttpd.conf"
    conf.write_text(
        f"""server.modules = ("mod_alias", "mod_setenv", "mod_auth", "mod_authn_file",
                   "mod_cgi", "mod_proxy")
server.bind = "127.0.0.1"
server.port = {port}
server.document-root = "{state}/www"
server.errorlog = "{state}/error.log"
server.stream-request-body = 2
server.stream-response-body = 2
{"".join(blocks)}$HTTP["url"] =~ "^/git/" {{
  alias.url = ("/git/" => "{HTTP_BACKEND}/")
  cgi.assign = ("" => "")
  setenv.set-environment = ("GIT_PROJECT_ROOT" => "{root}", "GIT_HTTP_EXPORT_ALL" => "1",
                            "PATH" => "{os.environ.get("PATH", "/usr/bin:/bin")}")
}}
auth.backend = "htpasswd"
auth.backend.htpasswd.userfile = "{htpasswd}"
{auth}
"""
    )
    log = state / "lighttpd.log"
    proc = _spawn(["lighttpd", "-D", "-f", str(conf)], log)
    _wait_listening(port, proc, log)
    return Server("http", root, port, proc, dict(users), base="/git")


def start_daemon(root: Path) -> Server:
    """`git daemon` serving every repository in `root` over git://, pushes allowed."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = root.parent / f"{root.name}.daemon.log"
    cmd = [
        "git",
        "daemon",
        "--reuseaddr",
        "--export-all",
        "--enable=receive-pack",
        f"--base-path={root}",
        f"--port={port}",
        "--listen=127.0.0.1",
        str(root),
    ]
    proc = _spawn(cmd, log)
    _wait_listening(port, proc, log)
    return Server("git", root, port, proc)


def start_sshd(root: Path, users: Sequence[str] = ("trainer1", "trainer2", "alice")) -> Server:
    """sshd on a loopback port, logging in as root with one generated key per test user.

    Each key's line in `authorized_keys` sets `REMOTE_USER` to its user (hooks see it).
    Needs the privilege-separation directory `/run/sshd` (made if missing).
    """
    root = root.resolve()
    state = root.parent / f"{root.name}.ssh"
    for d in (root, state):
        d.mkdir(parents=True, exist_ok=True)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    host_key = state / "host_ed25519"
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
    subprocess.run([*keygen, "-f", str(host_key)], check=True)
    keys: dict[str, str] = {}
    lines = []
    for user in users:
        key = state / f"id_{user}"
        subprocess.run([*keygen, "-C", user, "-f", str(key)], check=True)
        os.chmod(key, 0o600)
        pub = Path(f"{key}.pub").read_text().strip()
        lines.append(f'environment="REMOTE_USER={user}",no-port-forwarding,no-pty {pub}')
        keys[user] = str(key)
    authorized = state / "authorized_keys"
    authorized.write_text("\n".join(lines) + "\n")
    os.chmod(authorized, 0o600)
    port = free_port()
    conf = state / "sshd_config"
    conf.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {state}/sshd.pid
AuthorizedKeysFile {authorized}
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitUserEnvironment yes
SetEnv PATH={os.environ.get("PATH", "/usr/bin:/bin")}
"""
    )
    log = state / "sshd.log"
    proc = _spawn([SSHD, "-D", "-e", "-f", str(conf)], log)
    _wait_listening(port, proc, log)
    return Server("ssh", root, port, proc, keys)
