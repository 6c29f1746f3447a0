"""Sizes the mount's two halves (the process that starts it and the file system) agree on."""

from __future__ import annotations

__all__ = ["READ_SIZE"]

READ_SIZE = 1 << 20  # the largest read asked of the kernel (it may grant less)
