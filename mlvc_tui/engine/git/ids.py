"""dulwich's typed ids at the boundary of this package.

dulwich types object ids (40 hex digits, as bytes) as ``ObjectID`` and ref names as
``Ref``, both NewTypes of ``bytes``. Code above `engine.git` speaks hex strings and plain
names; these helpers turn those (or plain bytes read from git) into dulwich's types where
a dulwich call wants them, and back.
"""

from __future__ import annotations

from dulwich.objects import ObjectID
from dulwich.refs import HEADREF, Ref

__all__ = ["HEAD", "ObjectID", "Ref", "branch_ref", "hex_of", "object_id", "ref_name"]

HEAD = HEADREF


def object_id(sha: str | bytes) -> ObjectID:
    """An object id (hex digits, as text or bytes) as dulwich types it."""
    return ObjectID(sha.encode("ascii") if isinstance(sha, str) else sha)


def ref_name(name: str | bytes) -> Ref:
    """A ref name (``refs/heads/main``, ``HEAD``) as dulwich types it; text is encoded as
    `objects.encode` does, so undecodable names round-trip."""
    return Ref(name.encode("utf-8", "surrogateescape") if isinstance(name, str) else name)


def branch_ref(branch: str) -> Ref:
    """``refs/heads/<branch>`` as dulwich types it."""
    return ref_name("refs/heads/" + branch)


def hex_of(sha: bytes) -> str:
    """An object id from dulwich as the hex string the rest of the engine uses."""
    return sha.decode("ascii")
