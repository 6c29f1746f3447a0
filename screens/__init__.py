"""Textual screens of mlvc-tui, installed as ``mlvc_tui.screens``."""
