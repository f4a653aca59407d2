"""Tidy and wide frame conventions (frames.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from promv5_lab.errors import InputError
from promv5_lab.frames import from_prometheus, from_series, label_columns, series_key, to_wide

MATRIX = [
    {"metric": {"__name__": "up", "job": "b"}, "values": [[100, "1"], [160, "0"]]},
    {"metric": {"__name__": "up", "job": "a"}, "values": [[100, "1"], [130, "NaN"], [190, "+Inf"]]},
]


def test_matrix_to_tidy_frame_types_and_order():
    f = from_prometheus("matrix", MATRIX)
    assert list(f.columns) == ["timestamp", "value", "__name__", "job"]
    assert str(f["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert f["value"].dtype == np.float64
    assert list(f["job"]) == ["a", "a", "a", "b", "b"]  # sorted by labels, then time
    assert math.isnan(f["value"].iloc[1]) and math.isinf(f["value"].iloc[2])
    assert label_columns(f) == ["__name__", "job"]


def test_vector_scalar_and_empty():
    v = from_prometheus("vector", [{"metric": {"k": "x"}, "value": [5.5, "3"]}])
    assert v["value"].tolist() == [3.0] and v["timestamp"].iloc[0] == pd.Timestamp(5.5, unit="s", tz="UTC")
    s = from_prometheus("scalar", [7, "2.5"])
    assert s["value"].tolist() == [2.5] and label_columns(s) == []
    e = from_prometheus("matrix", [])
    assert e.empty and list(e.columns) == ["timestamp", "value"]
    with pytest.raises(InputError):
        from_prometheus("histogramish", [])


def test_labels_named_like_our_columns_do_not_collide():
    f = from_series([({"value": "v1", "timestamp": "t"}, [1.0], [2.0])])
    assert set(f.columns) == {"timestamp", "value", "label_value", "label_timestamp"}
    assert f["label_value"].iloc[0] == "v1" and f["value"].iloc[0] == 2.0


def test_to_wide_regular_index_with_nan_gaps_and_no_mutation():
    f = from_prometheus("matrix", MATRIX)
    before = f.copy()
    w = to_wide(f)
    pd.testing.assert_frame_equal(f, before)
    assert str(w.index.tz) == "UTC" and w.index.freq == pd.Timedelta(seconds=30)
    assert len(w) == 4  # 100, 130, 160, 190
    col_b = series_key({"__name__": "up", "job": "b"})
    assert w[col_b].isna().tolist() == [False, True, False, True]  # gaps stay NaN, never forward-filled
    assert to_wide(f, step_s=10).index.freq == pd.Timedelta(seconds=10)


def test_to_wide_rejects_non_tidy_input():
    with pytest.raises(InputError, match="tidy"):
        to_wide(pd.DataFrame({"a": [1]}))
