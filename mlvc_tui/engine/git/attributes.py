"""Which paths `.gitattributes` hands to Git LFS (``filter=lfs``), as git decides it."""

from __future__ import annotations

import fnmatch

__all__ = ["LfsPaths"]


class LfsPaths:
    """The ``filter=lfs`` patterns of a root `.gitattributes` file."""

    def __init__(self, data: bytes | None) -> None:
        patterns: list[tuple[str, bool]] = []
        for line in (data or b"").decode("utf-8", "replace").splitlines():
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            pattern, attrs = fields[0], fields[1:]
            if "filter=lfs" in attrs:
                patterns.append((pattern, True))
            elif (
                "-filter" in attrs
                or "!filter" in attrs
                or any(a.startswith("filter=") for a in attrs)
            ):
                patterns.append((pattern, False))
        self.patterns = tuple(patterns)
        self.key = repr(self.patterns)  # equal rules, equal key
        self._any = any(on for _, on in self.patterns)

    def __bool__(self) -> bool:
        return self._any

    def match(self, path: str) -> bool:
        """Whether ``path`` is stored through LFS (the last matching line wins)."""
        result = False
        name = path.rsplit("/", 1)[-1]
        for pattern, on in self.patterns:
            anchored = pattern.lstrip("/")
            if "/" in pattern.rstrip("/"):
                hit = fnmatch.fnmatchcase(path, anchored) or (
                    anchored.endswith("/**") and path.startswith(anchored[:-2])
                )
            else:
                hit = fnmatch.fnmatchcase(name, pattern)
            if hit:
                result = on
        return result
