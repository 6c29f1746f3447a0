"""Big blobs read backwards: rewound to marks, never inflated again from the first byte;
bytes checked against `git cat-file`, marks bounded, the sha1 check kept whole."""

from __future__ import annotations

import hashlib
import subprocess
import threading
import tracemalloc
from pathlib import Path

import pytest

from mlvc_tui.engine import BadInput, Registry
from mlvc_tui.engine.git.blobio import open_blob
from mlvc_tui.engine.git.blobseek import SeekableBlob
from mlvc_tui.engine.git.seekable import open_source
from tests.support.gitrepo import GitRepo

SIZE = 16 << 20
STEP = 1 << 20


def _content(seed: str) -> bytes:
    """Text that deflates to about half: zlib streams with pending input (unconsumed tails)."""
    block = b"".join(hashlib.sha256(f"{seed}{i}".encode()).hexdigest().encode() for i in range(512))
    parts, n = [], 0
    while n * len(block) < SIZE:
        parts.append(block[n % 97 :] + block[: n % 97])
        n += 1
    return b"".join(parts)[:SIZE]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, dict[str, str]]:
    """A packed blob (committed, `git gc`) and a loose one (`git hash-object -w`)."""
    g = GitRepo(tmp_path_factory.mktemp("seek") / "repo")
    g.commit("weights", {"models/packed.bin": _content("packed")})
    g.git("gc", "-q")
    path = g.path / "loose.bin"
    path.write_bytes(_content("loose"))
    loose = g.git("hash-object", "-w", str(path)).strip()
    path.unlink()
    return g, {"packed": g.rev("prod:models/packed.bin"), "loose": loose}


def _cat(g: GitRepo, blob: str) -> bytes:
    return subprocess.run(
        ["git", "cat-file", "blob", blob], cwd=g.path, capture_output=True, check=True
    ).stdout


@pytest.mark.parametrize("kind", ["packed", "loose"])
def test_reading_backwards_rewinds_to_marks(
    repo: tuple[GitRepo, dict[str, str]], kind: str
) -> None:
    g, blobs = repo
    want = _cat(g, blobs[kind])
    assert len(want) == SIZE
    if kind == "loose":
        assert (g.path / ".git" / "objects" / blobs[kind][:2] / blobs[kind][2:]).exists()
    lock = threading.Lock()
    with Registry.open(g.path) as reg:
        tree = reg.tree_of("prod")
        tracemalloc.start()
        try:
            source = open_source(reg, lock, tree, "x.bin", blobs[kind])
            blob = source.blob  # type: ignore[attr-defined]
            for offset in reversed(range(0, SIZE, STEP)):
                assert source.read(offset, STEP) == want[offset : offset + STEP], offset
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # from the first byte: the first read, and reads before the first mark (4 MB)
        every, reads = 4 << 20, SIZE // STEP
        assert blob.starts <= 2 + every // STEP
        assert blob.rewinds >= reads - 2 - every // STEP  # the others came back to a mark
        # each read inflated at most a mark's spacing more than it returned (restarting
        # from the top would inflate SIZE * reads / 2)
        assert blob.inflated <= SIZE + reads * (every + STEP)
        assert 0 < blob.marks <= SIZE // every
        assert peak < 16 << 20, f"reading backwards peaked at {peak >> 20} MB"
        # forwards again to the end: the sha1 check covers every byte and passes
        starts = blob.starts
        for offset in range(0, SIZE, STEP):
            assert source.read(offset, STEP) == want[offset : offset + STEP]
        assert blob.starts <= starts + 1
        source.close()


def test_marks_stay_bounded_and_thin_out(repo: tuple[GitRepo, dict[str, str]]) -> None:
    g, blobs = repo
    want = _cat(g, blobs["packed"])
    with Registry.open(g.path) as reg:
        blob = SeekableBlob(lambda: open_blob(reg, blobs["packed"]), SIZE, every=1 << 20, most=8)
        assert blob.read(SIZE - 10, 100) == want[-10:]
        assert blob.marks <= 8
        for offset in (5 << 20, 17 << 20, 123, SIZE // 2, 0):
            assert blob.read(offset, 4096) == want[offset : offset + 4096]
        assert blob.marks <= 8
        assert blob.inflated <= SIZE + 5 * ((SIZE // 8) * 2 + 4096)
        blob.close()


def test_a_corrupt_blob_still_fails_after_rewinds(tmp_path: Path) -> None:
    """A loose blob altered on disk: reads that rewound and then reach the end fail."""
    g = GitRepo(tmp_path / "repo")
    g.commit("first", {"README": "x\n"})
    data = _content("bad")[: 12 << 20]
    (g.path / "x.bin").write_bytes(data)
    blob = g.git("hash-object", "-w", "x.bin").strip()
    loose = g.path / ".git" / "objects" / blob[:2] / blob[2:]
    import zlib

    raw = bytearray(zlib.decompress(loose.read_bytes()))
    raw[len(raw) - 100] ^= 1
    loose.chmod(0o644)
    loose.write_bytes(zlib.compress(bytes(raw)))
    with Registry.open(g.path) as reg:
        seek = SeekableBlob(lambda: open_blob(reg, blob), len(data), every=1 << 20)
        assert seek.read(8 << 20, 4096) == data[8 << 20 : (8 << 20) + 4096]
        assert seek.read(3 << 20, 4096) == data[3 << 20 : (3 << 20) + 4096]
        with pytest.raises(BadInput, match="hash differently"):
            seek.read(len(data) - 4096, 4096)
        assert seek.starts == 1
        seek.close()


def test_a_delta_chain_is_resolved_once_and_read_backwards(tmp_path: Path) -> None:
    """An old version stored as a delta: resolved into a temp file once, its sha1 checked
    before the first byte, then any offset is a file seek."""
    import random

    g = GitRepo(tmp_path / "repo")
    rng = random.Random(5)
    data = bytearray(rng.randbytes(3 << 20))
    versions = []
    for i in range(4):
        at = rng.randrange(len(data) - 64)
        data[at : at + 32] = rng.randbytes(32)
        data += f"v{i}\n".encode()
        versions.append(bytes(data))
        g.commit(f"v{i}", {"model.bin": bytes(data)})
    g.git("repack", "-a", "-d", "-f", "--depth=10", "--window=10", "-q")
    g.git("prune-packed")
    oldest = hashlib.sha1(b"blob %d\0" % len(versions[0]) + versions[0]).hexdigest()
    pack = next((g.path / ".git/objects/pack").glob("*.idx"))
    line = next(
        x for x in g.git("verify-pack", "-v", str(pack)).splitlines() if x.startswith(oldest)
    )
    assert len(line.split()) >= 7  # stored as a delta
    want = versions[0]
    with Registry.open(g.path) as reg:
        blob = SeekableBlob(lambda: open_blob(reg, oldest), len(want))
        for offset in reversed(range(0, len(want), 256 << 10)):
            assert blob.read(offset, 256 << 10) == want[offset : offset + (256 << 10)]
        assert blob.starts == 1
        assert blob.inflated <= 2 * len(want)  # read each byte about once, never re-resolved
        blob.close()
