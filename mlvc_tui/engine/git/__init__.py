"""The object layer: the only package that imports dulwich.

Objects and packs (read once per process, sizes from headers), refs in one pass, blobs of
any size streamed in and out, the Git LFS store and `.gitattributes`, the cross-process
object cache, tree and commit writing with compare-and-swap ref moves, the in-memory
three-way merge and the checked-out working tree. Everything above speaks ids and plain
values; nothing above this package touches a dulwich type.
"""
