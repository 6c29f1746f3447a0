"""One registry shared by many machines: clone, fetch, push, and atomic remote writes.

``sync`` moves refs between a clone and its server (fetch: branches, tags, approvals
notes, pruning; push: branches with their version tags, fast-forward only); ``clone`` makes
a new clone ready; ``atomic`` does promotion, rollback and approval as one atomic push,
re-planned when the server moved; ``hook`` is the server's pre-receive check.
Transport (dulwich) lives in ``engine.git.transport``.
"""
