"""Promotion (merge-to-prod) and rollback: plans, gates, versions, approvals, records.

A plan merges in memory, evaluates the gates read from the target (metrics, slices,
artifacts, approvals, stage order, the check command) and computes the next
MAJOR.MINOR.PIPELINE version; the writes then land objects, move the target by
compare-and-swap and write the version tag, so a promotion either happens whole or not at
all. Records travel as a JSON trailer in the commit, so versions derive from history.
"""
