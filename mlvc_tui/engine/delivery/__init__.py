"""Progressive delivery and A/B tests: how live traffic is split between branches.

`delivery.toml` on prod (the spec), sticky routing by hashing, the verbs that shift traffic
(canary steps, blue/green switch, A/B/n weights, the Thompson bandit), each one commit,
and the A/B report with its statistics (confidence intervals, tests, sample-ratio check).
"""
