"""The drift-log reader: long and wide forms, thresholds, bad rows, refusals, the live tail."""

from __future__ import annotations

import math

import pytest

from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.live.drift import DriftPoint, DriftTail, parse_drift

LONG = b"""timestamp,feature,metric,value,threshold
2024-03-01T00:00:00Z,age,psi,0.05,0.2
2024-03-01T00:00:00Z,income,ks,0.08,0.1
2024-03-02T00:00:00Z,age,psi,0.31,0.2
2024-03-02T00:00:00Z,income,ks,0.04,
2024-03-03T00:00:00Z,age,psi,0.12,0.2
2024-03-03T00:00:00Z,income,ks,0.15,0.1
"""

WIDE = b"""timestamp,age_psi,days_since_signup_psi,income_ks,age_psi_threshold
2024-03-01,0.05,0.10,0.02,0.2
2024-03-02,0.25,,0.30,0.2
2024-03-03,0.10,0.40,0.01,
"""


def test_long_form_with_row_thresholds() -> None:
    report = parse_drift(LONG)
    assert report.form == "long"
    assert (report.rows, report.bad_rows, report.errors) == (6, 0, ())
    assert report.features == ("age", "income")
    age = report.get("age", "psi")
    assert age is not None
    assert [p.value for p in age.points] == [0.05, 0.31, 0.12]
    assert (age.count, age.alerts, age.max, age.threshold) == (3, 1, 0.31, 0.2)
    assert age.latest.value == 0.12
    assert not age.alert  # over threshold once, but not any more
    income = report.get("income", "ks")
    assert income is not None
    assert income.points[1].threshold is None  # empty cell, no argument: no threshold
    assert (income.alerts, income.alert) == (1, True)
    assert report.alerts == 2
    assert [s.key for s in report.over_threshold()] == ["income.ks"]
    rows = {(r.feature, r.metric): r for r in report.summary()}
    assert rows["age", "psi"].latest == 0.12 and rows["age", "psi"].max == 0.31
    assert (rows["income", "ks"].threshold, rows["income", "ks"].alerts) == (0.1, 1)


def test_thresholds_from_argument_row_wins_then_feature_then_metric() -> None:
    report = parse_drift(LONG, {"KS": 0.05, "age.psi": 0.1, "psi": 0.01})
    age = report.get("age", "psi")
    income = report.get("income", "ks")
    assert age is not None and income is not None
    assert [p.threshold for p in age.points] == [0.2, 0.2, 0.2]  # the row's own
    assert [p.threshold for p in income.points] == [0.1, 0.05, 0.1]  # the empty cell falls back
    data = b"timestamp,feature,metric,value\n1,age,psi,0.3\n1,tenure,psi,0.3\n1,age,ks,0.3\n"
    report = parse_drift(data, {"age.psi": 0.5, "psi": 0.2})
    assert [(s.key, s.threshold, s.alerts) for s in report.series] == [
        ("age.psi", 0.5, 0),
        ("tenure.psi", 0.2, 1),
        ("age.ks", None, 0),
    ]
    assert report.alerts == 1
    with pytest.raises(BadInput, match="psi"):
        parse_drift(LONG, {"psi": "high"})  # type: ignore[dict-item]


def test_no_thresholds_no_alerts() -> None:
    report = parse_drift(b"timestamp,feature,metric,value\n1,age,psi,9.5\n")
    assert report.alerts == 0 and report.over_threshold() == ()
    assert report.series[0].threshold is None and report.series[0].max == 9.5


def test_wide_form() -> None:
    report = parse_drift(WIDE, {"psi": 0.3, "ks": 0.2})
    assert report.form == "wide"
    assert [s.key for s in report.series] == ["age.psi", "days_since_signup.psi", "income.ks"]
    age, signup, income = report.series
    assert [p.threshold for p in age.points] == [0.2, 0.2, 0.3]  # column, column, argument
    assert (age.alerts, age.max) == (1, 0.25)
    assert [p.timestamp for p in signup.points] == ["2024-03-01", "2024-03-03"]  # gap skipped
    assert signup.alert and income.alerts == 1 and not income.alert
    assert report.rows == 3 and report.alerts == 3
    assert report.features == ("age", "days_since_signup", "income")


def test_header_is_case_and_space_insensitive_and_cells_may_be_quoted() -> None:
    report = parse_drift(b' Timestamp , FEATURE,Metric , Value\n1,"zip, code",PSI," 0.4 "\n')
    assert report.form == "long"
    assert report.series[0].latest == DriftPoint("1", "zip, code", "psi", 0.4, None)
    wide = parse_drift(b"TimeStamp, Age_PSI ,Age_PSI_Threshold\n1,0.3,0.2\n")
    assert wide.series[0].latest == DriftPoint("1", "Age", "psi", 0.3, 0.2)
    indexed = parse_drift(b",timestamp,age_psi\n0,1,0.3\n")  # pandas' unnamed index column
    assert indexed.series[0].latest == DriftPoint("1", "age", "psi", 0.3, None)


def test_nan_and_inf_are_values_not_bad_rows() -> None:
    data = b"timestamp,feature,metric,value,threshold\n1,a,psi,nan,0.2\n2,a,psi,inf,0.2\n"
    data += b"3,a,psi,-inf,0.2\n4,a,psi,NaN,0.2\n"
    report = parse_drift(data)
    series = report.series[0]
    assert report.bad_rows == 0 and series.count == 4
    assert series.invalid == report.invalid == 4
    assert [p.alert for p in series.points] == [False, True, False, False]
    assert series.max == math.inf
    assert math.isnan(series.latest.value) and not series.alert
    only_nan = parse_drift(b"timestamp,a_psi\n1,nan\n")
    assert only_nan.series[0].max is None and only_nan.alerts == 0


def test_bad_rows_are_counted_and_skipped() -> None:
    data = LONG + b"2024-03-04,age,psi\n2024-03-04,age,psi,high,0.2\n2024-03-04,age,psi,0.5,x\n"
    data += b",age,psi,0.5,0.2\n2024-03-04,,psi,0.5,0.2\n2024-03-04,age,psi,,0.2\n"
    data += b"\n   \n2024-03-05,age,psi,0.9,0.2\n"
    report = parse_drift(data)
    assert (report.rows, report.bad_rows) == (7, 6)
    assert len(report.errors) == 5  # the first few reasons only
    assert report.errors[0] == "line 8: expected 5 fields, got 3"
    assert report.errors[1] == "line 9: value 'high' is not a number"
    assert "threshold 'x'" in report.errors[2] and "line 11: empty timestamp" in report.errors
    assert report.get("age", "psi").latest.value == 0.9  # type: ignore[union-attr]
    wide = parse_drift(WIDE + b"2024-03-04,0.1,oops,0.1,\n2024-03-05,0.1\n")
    assert (wide.rows, wide.bad_rows) == (3, 2)
    assert wide.errors[0] == "line 5: days_since_signup_psi 'oops' is not a number"


def test_bom_and_crlf() -> None:
    data = b"\xef\xbb\xbf" + LONG.replace(b"\n", b"\r\n")
    assert parse_drift(data) == parse_drift(LONG)
    assert parse_drift(b"\xef\xbb\xbf" + WIDE.replace(b"\n", b"\r\n")) == parse_drift(WIDE)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf\r\n  \n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"timestamp,feature,metric,value\n1,caf\xe9,psi,0.1\n", "not UTF-8 text \\(line 2\\)"),
        (b"2024-03-01,age,psi,0.1\n", "no timestamp column"),
        (b"timestamp,feature,value\n", "lacks 'metric'"),
        (b"timestamp,age,income\n", "column 'age'"),
        (b"timestamp,age_psi,age_ks_threshold\n", "'age_ks_threshold'"),
        (b"timestamp,age_psi,AGE_PSI\n", "twice"),
        (b"timestamp\n", "no <feature>_<metric> column"),
    ],
)
def test_refusals(data: bytes, message: str) -> None:
    with pytest.raises(BadInput, match=message) as info:
        parse_drift(data)
    assert "\n" not in str(info.value)


def test_header_only_is_zero_rows() -> None:
    for data, form in (
        (b"timestamp,feature,metric,value,threshold\n", "long"),
        (b"timestamp,age_psi", "wide"),
    ):
        report = parse_drift(data)
        assert (report.form, report.rows, report.series, report.alerts) == (form, 0, (), 0)


@pytest.mark.parametrize(
    "data",
    [
        LONG,
        b"\xef\xbb\xbf" + WIDE.replace(b"\n", b"\r\n").rstrip(),  # no final newline
        LONG + b"bad,row\n2024-03-04,\xc3\xa5lder,psi,0.4,0.2\n",  # a 2-byte character
    ],
)
def test_tail_byte_by_byte_equals_whole(data: bytes) -> None:
    tail = DriftTail({"ks": 0.2})
    fed = [p for i in range(len(data)) for p in tail.feed(data[i : i + 1])]
    fed += tail.finish()
    whole = parse_drift(data, {"ks": 0.2})
    assert tail.report() == whole
    assert fed == list(tail.points)  # in file order
    for s in whole.series:
        assert [p for p in fed if (p.feature, p.metric) == (s.feature, s.metric)] == list(s.points)
    assert len(fed) == sum(s.count for s in whole.series)


def test_tail_late_header_and_partial_lines() -> None:
    tail = DriftTail()
    assert tail.feed(b"") == [] and tail.form is None
    with pytest.raises(BadInput, match="no header yet"):
        tail.report()
    assert tail.feed(b"times") == [] and tail.feed(b"tamp,age_p") == []
    assert tail.feed(b"si,income_ks\r") == [] and tail.form is None
    assert tail.feed(b"\n2024-03-01,0.1,0") == [] and tail.form == "wide"
    assert [p.metric for p in tail.feed(b".2\n2024-03-02,")] == ["psi", "ks"]
    assert [p.value for p in tail.feed(b"0.3,0.4\n")] == [0.3, 0.4]
    assert tail.rows == 2 and tail.report().rows == 2


def test_tail_reset_for_a_replaced_file() -> None:
    tail = DriftTail({"psi": 0.2})
    tail.feed(LONG)
    assert tail.report().rows == 6
    tail.reset()
    assert tail.form is None and tail.points == () and tail.rows == 0
    points = tail.feed(b"timestamp,age_psi\n1,0.5\n")
    assert points == [DriftPoint("1", "age", "psi", 0.5, 0.2)]
    report = tail.report()
    assert (report.form, report.rows, report.alerts, len(report.series)) == ("wide", 1, 1, 1)


def test_tail_window_is_bounded_and_totals_exact() -> None:
    n = 100_000
    lines = [b"timestamp,feature,metric,value,threshold"]
    lines += [b"%d,f%d,psi,%d,%d" % (i, i % 3, i % 1000, 900) for i in range(n)]
    data = b"\n".join(lines) + b"\n"
    tail = DriftTail(window=500)
    for start in range(0, len(data), 65_536):  # as a file watcher would read it
        tail.feed(data[start : start + 65_536])
        assert len(tail.points) <= 500
    assert [p.timestamp for p in tail.points] == [str(i) for i in range(n - 500, n)]
    report = tail.report()
    assert report.rows == n and sum(len(s.points) for s in report.series) == 500
    counts = [s.count for s in report.series]
    assert counts == [sum(1 for i in range(n) if i % 3 == k) for k in range(3)]
    assert report.alerts == sum(1 for i in range(n) if i % 1000 > 900)
    assert [s.max for s in report.series] == [999, 999, 999]
    assert [s.latest.timestamp for s in report.series] == [str(n - 1), str(n - 3), str(n - 2)]


def test_tail_refuses_binary_and_bad_window() -> None:
    with pytest.raises(BadInput, match="binary"):
        DriftTail().feed(b"timestamp,a_psi\n\x00\x01")
    with pytest.raises(ValueError):
        DriftTail(window=-1)
