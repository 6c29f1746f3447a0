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


def test_a_long_metric_name_wraps_whole_or_keeps_its_end() -> None:
    assert _wrap("accuracy", 13) == "accuracy"
    assert _wrap("train_history.accuracy", 16) == "train_history.\naccuracy"
    assert _wrap("train_history.loss", 13) == "train_history\n.loss"
    assert _wrap("slices.age<30.f1", 13) == "slices.age<30\n.f1"
    assert _wrap("models/a-b", 8) == "models/\na-b"
    # no separator lets the rest fit, but two lines hold it all: nothing is lost
    assert _wrap("slices.age<30.accuracy", 12) == "slices.age<3\n0.accuracy"
    # too long for two lines: the start, and the end after "…"
    assert _wrap("slices.region=north-east.accuracy", 13) == "slices.region\n…ast.accuracy"
    assert _wrap("abcdefghijklmnopqrstuvwxyz", 10) == "abcdefghij\n…rstuvwxyz"
