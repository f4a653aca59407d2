"""Storage: OpenMetrics parsing, interning, postings/matchers, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from promv5_lab.backends.embedded.openmetrics import parse_series_key, parse_text
from promv5_lab.backends.embedded.storage import Store
from promv5_lab.errors import InputError

OM = """# TYPE req counter
# HELP req Requests\\nserved.
req_total{job="api",path="/a b"} 1 100
req_total{job="api",path="/a b"} 3 130.5
req_total{job="web",path="/q\\"x\\""} 2 100 # {trace_id="abc"} 1.0 99
# TYPE temp gauge
# UNIT temp celsius
temp{room="cold"} -1.5 100
temp{room="cold"} NaN 130
temp{room="warm"} +Inf 100
temp 7 100
# EOF
"""


@pytest.fixture()
def store() -> Store:
    return Store.from_text(OM)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("up", {"__name__": "up"}),
        ('up{job="a"}', {"__name__": "up", "job": "a"}),
        ('up{job="a",x="q\\"z"}', {"__name__": "up", "job": "a", "x": 'q"z'}),
        ('up{job="a\\\\b\\nc"}', {"__name__": "up", "job": "a\\b\nc"}),
        ('{__name__="up",a="1",}', {"__name__": "up", "a": "1"}),
    ],
)
def test_parse_series_key(key, expected):
    assert parse_series_key(key) == expected


@pytest.mark.parametrize("bad", ['up{job="a"', "1up 3 4", 'up{job=a} 1 2'])
def test_parse_errors_are_input_errors(bad):
    with pytest.raises(InputError):
        parse_text(bad + "\n# EOF\n")


def test_openmetrics_timestamps_are_seconds_and_text_format_is_ms():
    om = parse_text('x{a="1"} 5 12.5\n# EOF\n')
    assert om.ts_ms.tolist() == [12500]
    prom = parse_text('x{a="1"} 5 12500\n')
    assert prom.ts_ms.tolist() == [12500]


def test_missing_timestamp_is_refused_without_default():
    with pytest.raises(InputError, match="no timestamp"):
        parse_text('x{a="1"} 5\n# EOF\n')
    assert parse_text('x{a="b c"} 5\n', default_ts_ms=7).ts_ms.tolist() == [7]


def test_store_columns_values_and_metadata(store):
    assert len(store.labels) == 5
    i = store.select([("__name__", "=", "req_total"), ("job", "=", "api")])
    assert len(i) == 1
    assert store.ts[i[0]].tolist() == [100_000, 130_500]
    assert store.vals[i[0]].tolist() == [1.0, 3.0]
    j = store.select([("job", "=", "web")])[0]
    assert dict(store.labels[j])["path"] == '/q"x"'
    assert store.metadata["req"].type == "counter"
    assert store.metadata["req"].help == "Requests\nserved."
    assert store.metadata["temp"].unit == "celsius"
    k = store.select([("room", "=", "warm")])[0]
    assert np.isposinf(store.vals[k][0])


@pytest.mark.parametrize(
    ("matchers", "count"),
    [
        ([("__name__", "=", "temp")], 3),
        ([("__name__", "=", "temp"), ("room", "=", "")], 1),
        ([("__name__", "=", "temp"), ("room", "!=", "")], 2),
        ([("__name__", "=", "temp"), ("room", "!=", "cold")], 2),
        ([("__name__", "=~", "te.*")], 3),
        ([("__name__", "=~", "te")], 0),  # fully anchored
        ([("__name__", "=~", "temp|req_total")], 5),
        ([("__name__", "!~", "temp")], 2),
        ([("__name__", "=", "temp"), ("room", "=~", "c.*|")], 2),  # matches empty: series without label
        ([("__name__", "=", "temp"), ("room", "!~", ".+")], 1),
        ([("nolabel", "=", "x")], 0),
    ],
)
def test_matchers(store, matchers, count):
    assert len(store.select(matchers)) == count


def test_duplicate_timestamps_keep_the_last_sample():
    s = Store.from_text("x 1 10\nx 2 10\nx 3 20\n# EOF\n")
    assert s.vals[0].tolist() == [2.0, 3.0]


def test_save_and_load_round_trip(store, tmp_path):
    store.save(tmp_path / "st")
    back = Store.load(tmp_path / "st")
    assert back.labels == store.labels
    for a, b in zip(back.vals, store.vals):
        np.testing.assert_array_equal(a, b)
    assert back.metadata == store.metadata
    assert back.label_values("room") == ["cold", "warm"]


def test_load_of_a_missing_store_says_how_to_make_one(tmp_path):
    with pytest.raises(InputError, match="No embedded store"):
        Store.load(tmp_path)


def test_label_names_and_values(store):
    assert store.label_names() == ["__name__", "job", "path", "room"]
    assert store.metric_names() == ["req_total", "temp"]
    ids = store.select([("__name__", "=", "temp")])
    assert store.label_names(ids) == ["__name__", "room"]
