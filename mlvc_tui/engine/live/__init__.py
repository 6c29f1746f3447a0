"""Live: watching a registry's refs and working tree, and following growing logs.

The watcher (watchdog, native or polling) coalesces file events into one `Change`; the drift
log and plain-text logs are read by offset as they grow (`DriftTail`, `follow`).
"""
