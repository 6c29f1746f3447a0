"""Which tree paths may leave the object store for a file system: git's ``verify_path``.

Anyone who can push a branch can write a tree git's own fsck rejects (a push without
``receive.fsckObjects`` accepts it): entries named ``..`` or ``.git``, names holding ``/``
or NUL, or names a case-folding (macOS HFS+) or NTFS file system reads as ``.git``.
Every path mlvc writes below a folder is checked here first, component by component, and
the folder it lands in must not be reached through a symbolic link.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path

from mlvc_tui.engine.errors import UnsafePath

__all__ = ["UnsafePath", "refusal", "safe_target", "unsafe_name", "verify_path"]

# Code points HFS+ ignores when comparing names (git's is_hfs_dotgit list).
_HFS_IGNORED = frozenset(
    "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u206a\u206b\u206c\u206d\u206e\u206f\ufeff"
)
# Files git treats specially that a symbolic link must never stand in for.
_NO_SYMLINK = (".gitmodules", ".gitattributes", ".gitignore", ".mailmap")


def _ntfs_is(name: str, dotname: str, short: str) -> bool:
    """NTFS reads ``.git``, ``.git.``, ``.git  ``, ``.git::$DATA`` and ``GIT~1`` as ``.git``."""
    low = name.lower()
    for prefix in (dotname, short):
        if low.startswith(prefix):
            rest = low[len(prefix) :].split(":", 1)[0]
            if rest.strip(" .") == "":
                return True
    return False


def _hfs_is(name: str, dotname: str) -> bool:
    stripped = "".join(c for c in name if c not in _HFS_IGNORED)
    return unicodedata.normalize("NFC", stripped).casefold() == dotname


def unsafe_name(name: str, mode: int = 0o100644) -> str | None:
    """Why one tree entry name may not be written to a file system, or None when it may."""
    if name in ("", ".", ".."):
        return "a name git forbids"
    if "/" in name or "\x00" in name or "\\" in name:
        return "a name holding a path separator or NUL"
    if _hfs_is(name, ".git") or _ntfs_is(name, ".git", "git~1"):
        return "a name file systems read as .git"
    if stat.S_ISLNK(mode):
        for special in _NO_SYMLINK:
            short = special[1:7] + "~1"
            if _hfs_is(name, special) or _ntfs_is(name, special, short):
                return f"a symbolic link standing in for {special}"
    return None


def verify_path(path: str, mode: int = 0o100644, where: str = "") -> str:
    """``path`` when every component of it is safe to write, else UnsafePath naming it."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        why = unsafe_name(part, mode if i == len(parts) - 1 else stat.S_IFDIR)
        if why is not None:
            raise UnsafePath(refusal(path, why, where))
    return path


def refusal(path: str, why: str, where: str = "") -> str:
    """The one-line refusal naming an unsafe path."""
    on = f" on {where}" if where else ""
    return f"refusing the tree{on}: it holds {path!r}, {why}; nothing was written"


def safe_target(root: Path, path: str, mode: int = 0o100644, where: str = "") -> Path:
    """Where ``path`` goes below ``root``, creating its folders; UnsafePath when the path is
    unsafe or a folder on the way is a symbolic link (or not a folder)."""
    verify_path(path, mode, where)
    folder = root
    for part in path.split("/")[:-1]:
        folder = folder / part
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            folder.mkdir()
            continue
        if not stat.S_ISDIR(info.st_mode):
            what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "a file"
            raise UnsafePath(refusal(path, f"whose folder {part!r} is {what} on disk", where))
    return root / path
