"""Column widths given to tables, the columns left out when narrow, metric names wrapped."""

from __future__ import annotations

from rich.text import Text

from mlvc_tui.widgets.metric_table import _wrap
from mlvc_tui.widgets.widths import column_widths, fitting, text_width


def test_widths_are_the_widest_line_of_each_column_header_included() -> None:
    assert text_width(Text("prod\nafter")) == 5
    assert text_width("Δ") == 1 and text_width("日本") == 4
    heads = ["metric", "Δ", ""]
    rows = [["f1", "+0.0200", Text("↑ better")], ["accuracy", "0", Text("")]]
    assert column_widths(heads, rows) == [8, 7, 8]


def test_least_important_columns_are_left_out_until_the_rest_fit() -> None:
    widths = [1, 16, 6, 6, 6, 9, 6]  # each takes two more cells of padding
    assert fitting(widths, 80, [4, 6, 2]) == [0, 1, 2, 3, 4, 5, 6]
    assert fitting(widths, 48, [4, 6, 2]) == [0, 1, 2, 3, 5]
    assert fitting(widths, 40, [4, 6, 2]) == [0, 1, 3, 5]


def test_a_long_metric_name_wraps_after_a_separator_then_ellipsizes() -> None:
    assert _wrap("accuracy", 13) == "accuracy"
    assert _wrap("slices.region=eu.accuracy", 13) == "slices.\nregion=eu.ac…"
    assert _wrap("train_history.accuracy", 16) == "train_history.\naccuracy"
    assert _wrap("abcdefghijklmnopqrstuvwxyz", 10) == "abcdefghij\nklmnopqrs…"
