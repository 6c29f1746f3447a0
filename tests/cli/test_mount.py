"""`mlvc mount` / `mlvc umount` / `mlvc.mounted`: real FUSE mounts, checked against `git show`.

Skipped only where FUSE cannot run here (no /dev/fuse, no libfuse, no permission).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlvc_tui as mlvc
from mlvc_tui.engine.demo.build import build_demo
from mlvc_tui.engine.mount import fuse_problem
from tests.support.gitrepo import GitRepo
from tests.support.mountrepo import HOSTILE_NAMES, build_mount_repo

PROBLEM = fuse_problem()
pytestmark = pytest.mark.skipif(PROBLEM is not None, reason=f"needs FUSE: {PROBLEM}")

MLVC = [sys.executable, "-c", "import sys; from mlvc_tui.cli import main; sys.exit(main())"]
LFS_SIZE = 200 << 20  # CI-sized; bench/bench_mount.py reads 1 GB


def mlvc_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    env.update(GIT_AUTHOR_NAME="Ana Ruiz", GIT_AUTHOR_EMAIL="ana@example.com")
    return subprocess.run(
        [*MLVC, *args], capture_output=True, text=True, cwd=cwd, env=env, check=False, timeout=60
    )


def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        status = Path(f"/proc/{pid}/stat")
        if status.exists() and status.read_text().split(") ")[-1].startswith("Z"):
            return True  # a zombie: exited, not yet reaped by its parent
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    return GitRepo.existing(build_demo(tmp_path_factory.mktemp("mount") / "demo", dirty=False))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    return build_mount_repo(tmp_path_factory.mktemp("mount") / "models", LFS_SIZE)


@pytest.fixture
def mnt(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "mnt"
    path.mkdir()
    yield path
    if os.path.ismount(path) or _stale(path):
        subprocess.run(["fusermount", "-uz", str(path)], check=False)


def _stale(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError:
        return True
    return False


def _files(root: Path) -> set[str]:
    out = set()
    for folder, dirs, names in os.walk(root):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            out.add(os.path.relpath(os.path.join(folder, name), root))
    return out


@pytest.mark.parametrize("ref", ["prod", "model@v1.1.0", "exp/feature-eng"])
def test_every_file_equals_git_show(demo: GitRepo, ref: str) -> None:
    with mlvc.mounted(ref, repo=demo.path) as folder:
        listed = demo.git("ls-tree", "-r", "--name-only", "-z", ref).strip("\0").split("\0")
        assert _files(folder) == {*listed, ".mlvc/commit"}
        for path in listed:
            shown = subprocess.run(
                ["git", "show", f"{ref}:{path}"], cwd=demo.path, capture_output=True, check=True
            ).stdout
            assert (folder / path).read_bytes() == shown, path
        assert (folder / ".mlvc" / "commit").read_text() == demo.rev(f"{ref}^{{commit}}") + "\n"
        if ref == "prod":
            import pandas as pd

            mounted_csv = pd.read_csv(folder / "monitoring" / "drift.csv")
            shown = demo.git("show", "prod:monitoring/drift.csv")
            assert mounted_csv.equals(pd.read_csv(io.StringIO(shown)))
    assert not os.path.ismount(folder) and not folder.exists()


def test_models_uri_and_path(demo: GitRepo, mnt: Path) -> None:
    out = mlvc_cli(
        "-C",
        str(demo.path),
        "mount",
        "models:/model@staging",
        str(mnt),
        "--path",
        "models/",
        "--background",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["commit"] == demo.rev("staging")
    assert sorted(os.listdir(mnt)) == [".mlvc", "model.lineage.json", "model.pkl"]
    assert (mnt / "model.pkl").read_bytes() == subprocess.run(
        ["git", "show", "staging:models/model.pkl"], cwd=demo.path, capture_output=True
    ).stdout
    assert mlvc_cli("umount", str(mnt)).returncode == 0
    assert gone(info["pid"])


def test_modes_links_submodules_and_big_blobs(models: GitRepo, mnt: Path) -> None:
    with mlvc.mounted("prod", repo=models.path, mountpoint=mnt) as folder:
        assert os.stat(folder / "src" / "train.sh").st_mode & 0o777 == 0o555
        assert os.stat(folder / "data" / "rows.csv").st_mode & 0o777 == 0o444
        assert os.readlink(folder / "src" / "weights") == "../models/weights.npy"
        assert (folder / "data" / "pinned").is_dir() and not os.listdir(folder / "data" / "pinned")
        want = subprocess.run(
            ["git", "show", "prod:models/weights.npy"], cwd=models.path, capture_output=True
        ).stdout
        assert len(want) > 1 << 20  # a packed blob streamed, not the small in-memory path
        with open(folder / "models" / "weights.npy", "rb", buffering=0) as fh:
            for offset in (2_000_000, 10, 3_000_000, 0, len(want) - 7):  # back and forth
                fh.seek(offset)
                assert fh.read(4096) == want[offset : offset + 4096]
        with pytest.raises(OSError):
            (folder / "data" / "new.csv").write_text("x")
    assert not os.path.ismount(mnt)


def test_hostile_entries_are_not_shown(models: GitRepo, mnt: Path) -> None:
    with mlvc.mounted("exp/hostile", repo=models.path, mountpoint=mnt) as folder:
        names = set(os.listdir(folder))
        assert names == {".gitattributes", ".mlvc", "data", "models", "src"}
        for name in HOSTILE_NAMES:
            if name not in ("..",):
                assert not os.path.lexists(folder / name), name


def test_large_lfs_model_with_bounded_memory(models: GitRepo, mnt: Path) -> None:
    out = mlvc_cli("-C", str(models.path), "mount", "prod", str(mnt), "--background", "--json")
    assert out.returncode == 0, out.stderr
    pid = json.loads(out.stdout)["pid"]
    digest = hashlib.sha256()
    with open(mnt / "models" / "model.bin", "rb", buffering=0) as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    pointer = models.git("show", "prod:models/model.bin")
    assert f"oid sha256:{digest.hexdigest()}" in pointer
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
    assert peak_kb < 100 * 1024, f"mount process peaked at {peak_kb // 1024} MB"
    assert mlvc_cli("umount", str(mnt)).returncode == 0
    assert gone(pid)
    assert not os.path.ismount(mnt)


def test_corrupt_lfs_object_fails_to_read(models: GitRepo, mnt: Path) -> None:
    with mlvc.mounted("exp/corrupt", repo=models.path, mountpoint=mnt) as folder:
        assert os.stat(folder / "models" / "small.bin").st_size == 4096
        with pytest.raises(OSError), open(folder / "models" / "small.bin", "rb") as fh:
            fh.read()


def test_follow_switches_between_opens(tmp_path: Path, demo: GitRepo, mnt: Path) -> None:
    repo = GitRepo.existing(tmp_path / "demo")
    shutil.copytree(demo.path, repo.path, symlinks=True)
    path = "README.md"  # staging changes it; promotion brings that into prod
    before = repo.git("show", f"prod:{path}")
    head = repo.git("branch", "--show-current").strip()
    repo.checkout("staging")
    repo.commit("README: one more line", {path: repo.git("show", f"staging:{path}") + "More.\n"})
    repo.checkout(head)
    old = repo.rev("prod")
    with mlvc.mounted("prod", repo=repo.path, mountpoint=mnt, follow=True) as folder:
        held = open(folder / path, "rb")  # noqa: SIM115
        first = held.read(100)
        promoted = mlvc_cli("-C", str(repo.path), "promote", "staging", "--yes")
        assert promoted.returncode == 0, promoted.stderr
        new = repo.rev("prod")
        assert new != old
        deadline = time.monotonic() + 15
        while (folder / ".mlvc" / "commit").read_text().strip() != new:
            assert time.monotonic() < deadline, "the mount did not follow prod"
            time.sleep(0.1)
        assert first + held.read() == before.encode()  # the open file kept its version
        held.close()
        after = repo.git("show", f"prod:{path}")
        assert after != before
        assert (folder / path).read_bytes() == after.encode()


@pytest.mark.parametrize(
    ("sig", "follow"), [(signal.SIGTERM, False), (signal.SIGINT, True)], ids=["TERM", "INT-follow"]
)
def test_foreground_mount_ends_cleanly_on_a_signal(
    demo: GitRepo, mnt: Path, sig: signal.Signals, follow: bool
) -> None:
    proc = subprocess.Popen(
        [*MLVC, "-C", str(demo.path), "mount", "prod", str(mnt), *(["--follow"] * follow)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("mounted prod"), line + (proc.stderr.read() if proc.stderr else "")
        assert (mnt / "params.yaml").exists()
        proc.send_signal(sig)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not os.path.ismount(mnt) and not _stale(mnt)


def test_a_crashed_mount_is_cleaned_up(demo: GitRepo, mnt: Path) -> None:
    out = mlvc_cli("-C", str(demo.path), "mount", "prod", str(mnt), "--background", "--json")
    pid = json.loads(out.stdout)["pid"]
    os.kill(pid, signal.SIGKILL)
    assert gone(pid)
    assert _stale(mnt)  # "Transport endpoint is not connected"
    again = mlvc_cli("-C", str(demo.path), "mount", "dev", str(mnt), "--background", "--json")
    assert again.returncode == 0, again.stderr
    assert (mnt / ".mlvc" / "commit").read_text().strip() == demo.rev("dev")
    os.kill(json.loads(again.stdout)["pid"], signal.SIGKILL)
    assert gone(json.loads(again.stdout)["pid"])
    done = mlvc_cli("umount", str(mnt))
    assert done.returncode == 0 and "crashed" in done.stdout
    assert not _stale(mnt) and not os.path.ismount(mnt)


def test_refusals_are_one_line_and_exit_2(demo: GitRepo, tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    cases = [
        (["mount", "prod", str(full)], "not empty"),
        (["mount", "nope", str(tmp_path / "a")], "nope"),
        (["mount", "model@v1.1.0", str(tmp_path / "b"), "--follow"], "--follow needs a branch"),
        (["mount", "prod", str(tmp_path / "c"), "--path", "nowhere/"], "nowhere"),
        (["mount", "models:/other@prod", str(tmp_path / "d")], "no model"),
        (["umount", str(full)], "not mounted"),
    ]
    for args, words in cases:
        out = mlvc_cli("-C", str(demo.path), *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert out.stderr.count("\n") == 1 and words in out.stderr, (args, out.stderr)
    assert not any(os.path.ismount(tmp_path / n) for n in "abcd")


def test_missing_fuse_is_one_line(
    demo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from mlvc_tui.cli import main
    from mlvc_tui.engine.mount import run

    monkeypatch.setattr(run, "FUSE_DEVICE", str(tmp_path / "no-fuse"))
    assert main(["-C", str(demo.path), "mount", "prod", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "FUSE is not available" in err


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
def test_no_permission_is_one_line(demo: GitRepo, tmp_path: Path) -> None:
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run(
        [*as_nobody, sys.executable, "-c", "import mlvc_tui"], capture_output=True, check=False
    )
    if probe.returncode != 0:  # e.g. a checkout inside a folder only root may enter
        pytest.skip("the user nobody cannot import mlvc from this checkout")
    target = tmp_path / "m"
    target.mkdir()
    tmp_path.chmod(0o755)
    out = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            *MLVC,
            "-C",
            str(demo.path),
            "mount",
            "prod",
            str(target),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": "/nonexistent"},
        timeout=60,
        check=False,
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "permission" in out.stderr, out.stderr
