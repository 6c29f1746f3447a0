"""Following growing files on disk: offsets, partial lines, truncation, replacement, memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlvc_tui.engine.config import parse_config
from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.live.tail import (
    MAX_LOG_LINE,
    DriftFollow,
    FileFollower,
    LogFollow,
    drift_thresholds,
    level_of,
    log_files,
)

HEADER = "timestamp,feature,metric,value,threshold\n"


def append(path: Path, text: str | bytes) -> None:
    with path.open("ab") as fh:
        fh.write(text.encode() if isinstance(text, str) else text)


def test_reads_only_what_was_appended(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    follower = FileFollower(path, chunk=4)
    first = follower.read()
    assert first.missing and not first.reset and first.data == b""
    append(path, b"abcdef")
    got = [follower.read() for _ in range(2)]
    assert [g.data for g in got] == [b"abcd", b"ef"]
    assert got[0].more and not got[1].more and not any(g.reset for g in got)
    assert follower.read().data == b""
    append(path, b"gh")
    assert follower.read().data == b"gh"
    assert follower.offset == 8


def test_truncated_rewritten_replaced_and_deleted_files_start_over(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    path.write_bytes(b"one\ntwo\n")
    follower = FileFollower(path)
    assert follower.read().data == b"one\ntwo\n"
    path.write_bytes(b"x\n")  # truncated (shorter)
    got = follower.read()
    assert got.reset and got.data == b"x\n"
    path.write_bytes(b"rewritten in place, longer\n")  # same inode, longer: seen by content
    got = follower.read()
    assert got.reset and got.data == b"rewritten in place, longer\n"
    new = tmp_path / "new.log"
    new.write_bytes(b"replaced\n")
    os.replace(new, path)  # renamed over: another inode
    got = follower.read()
    assert got.reset and got.data == b"replaced\n"
    path.unlink()
    got = follower.read()
    assert got.reset and got.missing
    path.write_bytes(b"back\n")
    got = follower.read()
    assert not got.reset and got.data == b"back\n"
    follower.close()


def test_drift_partial_lines_and_a_late_header(tmp_path: Path) -> None:
    path = tmp_path / "drift.csv"
    path.write_bytes(b"")
    follow = DriftFollow(path)
    assert follow.poll().points == () and follow.report() is None
    append(path, "timestamp,feature,met")  # the header, half written
    assert follow.poll().points == () and follow.report() is None
    append(path, "ric,value,threshold\n2026-09-01T00:00:00Z,age,psi,0.1")
    assert follow.poll().points == ()  # the row waits for its newline
    assert follow.report() is not None
    append(path, "5,0.2\n2026-09-01T00:01:00Z,age,psi,0.35,0.2\n")
    update = follow.poll()
    assert [(p.value, p.alert) for p in update.points] == [(0.15, False), (0.35, True)]
    report = follow.report()
    assert report is not None and report.rows == 2 and report.alerts == 1


def test_drift_error_holds_until_the_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "drift.csv"
    path.write_text("when,what\n1,2\n")
    follow = DriftFollow(path)
    update = follow.poll()
    assert update.error and "timestamp" in update.error
    append(path, "3,4\n")
    assert follow.poll().error == update.error
    path.write_text(HEADER + "2026-09-01T00:00:00Z,age,psi,0.1,0.2\n")
    update = follow.poll()
    assert update.reset and update.error is None and update.new == 1


def test_drift_memory_is_a_window_plus_totals(tmp_path: Path) -> None:
    path = tmp_path / "drift.csv"
    path.write_text(HEADER)
    follow = DriftFollow(path, thresholds={"psi": 0.5}, window=100, chunk=1 << 12)
    total = 0
    for block in range(20):
        append(
            path,
            "".join(
                f"2026-09-01T00:00:00Z,f{i % 3},psi,{(i % 10) / 10},\n"
                for i in range(block * 500, block * 500 + 500)
            ),
        )
        while True:
            update = follow.poll()
            total += update.new
            assert len(update.points) <= 100
            if not update.more:
                break
    assert total == 10_000
    report = follow.report()
    assert report is not None and report.rows == 10_000
    assert len(follow.tail.points) == 100
    assert sum(s.count for s in report.series) == 10_000
    assert report.alerts == 10_000 * 4 // 10  # 0.6 .. 0.9 are over 0.5


def test_thresholds_from_config() -> None:
    config = parse_config(b'[drift.thresholds]\npsi = 0.2\n"age.ks" = 0.1\n')
    assert drift_thresholds(config) == {"psi": 0.2, "age.ks": 0.1}
    assert drift_thresholds(parse_config(None)) is None
    with pytest.raises(BadInput, match=r"drift\.thresholds"):
        drift_thresholds(parse_config(b"[drift]\nthresholds = 3\n"))


def test_log_lines_levels_and_long_lines(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    path.write_text("epoch 1 loss 0.5\nWARNING: lr is high\nval_error 0.2\n")
    follow = LogFollow(path)
    update = follow.poll()
    assert [(line.number, line.level) for line in update.lines] == [
        (1, ""),
        (2, "warning"),
        (3, ""),
    ]
    append(path, "Traceback (most recent call last):\nValueError: bad\npart")
    update = follow.poll()
    assert [line.level for line in update.lines] == ["error", "error"]
    assert (follow.count, follow.errors, follow.warnings) == (5, 2, 1)
    append(path, "ial\n" + "x" * (MAX_LOG_LINE * 5) + "\nafter\n")
    update = follow.poll()
    texts = [line.text for line in update.lines]
    assert texts[0] == "partial" and texts[-1] == "after"
    assert len(texts) == 3 and len(texts[1]) == MAX_LOG_LINE + 1
    append(path, "y" * (MAX_LOG_LINE * 5))  # a line with no end in sight: its start shows
    update = follow.poll()
    assert [len(line.text) for line in update.lines] == [MAX_LOG_LINE + 1]
    append(path, "y" * 100 + " its end\nnext\n")
    assert [line.text for line in follow.poll().lines] == ["next"]
    append(path, b"\0\1binary")
    assert follow.poll().error == "train.log is binary, not a text log"


def test_levels_and_log_files(tmp_path: Path) -> None:
    assert level_of("2026 ERROR disk full") == "error"
    assert level_of("KeyError: 'x'") == "error"
    assert level_of("UserWarning: deprecated") == "warning"
    assert level_of("train error 0.1 (lower is better)") == ""
    (tmp_path / "logs" / "jobs").mkdir(parents=True)
    for name in ("logs/app.log", "logs/jobs/7.log", "logs/notes.txt"):
        (tmp_path / name).write_text("x\n")
    assert log_files(tmp_path) == ["logs/app.log", "logs/jobs/7.log"]
    assert log_files(tmp_path / "nowhere") == []
