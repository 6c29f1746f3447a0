"""How :func:`spawn` reads its child's ready line from a file they share."""

from __future__ import annotations

import os
import tempfile

from mlvc_tui.engine.mount.run import _read_start


def test_reading_the_ready_line_leaves_the_shared_offset_alone() -> None:
    """The mount child writes at the offset it shares with the parent's file. Under
    ``python -u`` its ``print`` wrote the newline apart; a parent seeking to 0 in between
    sent that newline over the ``{``. Polling must read without moving the offset."""
    with tempfile.TemporaryFile() as out:
        fd = out.fileno()
        os.write(fd, b'{"commit": "c", "pid": 1}')
        assert _read_start(out) == '{"commit": "c", "pid": 1}'
        os.write(fd, b"\n")
        assert _read_start(out) == '{"commit": "c", "pid": 1}\n'
        assert os.lseek(fd, 0, os.SEEK_CUR) == 26
        os.lseek(fd, 3, os.SEEK_SET)  # wherever the writer is, it stays there
        assert _read_start(out).endswith("}\n")
        assert os.lseek(fd, 0, os.SEEK_CUR) == 3
