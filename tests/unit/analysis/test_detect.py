"""The streaming detector: causal, O(1) state, identical streaming and batch scores, and each component."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from promv5_lab.analysis.detect import (
    DetectorConfig,
    DetectorState,
    StreamingDetector,
    score_arrays,
    score_frame,
)
from promv5_lab.analysis.learn import DEFAULT_FLOOR as FLAG
from promv5_lab.errors import InputError

STEP = 300.0
T0 = 1_700_000_000.0 - (1_700_000_000.0 % 86400)


def _noise(n: int, seed: int = 0, level: float = 100.0, sd: float = 1.0) -> np.ndarray:
    return level + sd * np.random.default_rng(seed).standard_normal(n)


def _t(n: int) -> np.ndarray:
    return T0 + STEP * np.arange(n)


def test_streaming_and_batch_give_the_same_scores():
    n = 1500
    v = np.stack([_noise(n, 1), _noise(n, 2, 5.0, 0.2), np.cumsum(np.abs(_noise(n, 3, 1.0)))], axis=1)
    v[700, 0] += 15
    v[900:910, 1] = np.nan
    batch = score_arrays(_t(n), v)
    for j in range(v.shape[1]):
        det = StreamingDetector()
        stream = np.array([det.update(t, x) for t, x in zip(_t(n), v[:, j])])
        np.testing.assert_array_equal(stream, batch[:, j])
    assert np.all((batch >= 0) & (batch <= 1))


def test_scores_only_use_the_past():
    n = 1200
    a = _noise(n, 4)
    b = a.copy()
    b[800:] += np.linspace(0, 50, n - 800)  # a different future
    sa, sb = score_arrays(_t(n), a)[:, 0], score_arrays(_t(n), b)[:, 0]
    np.testing.assert_array_equal(sa[:800], sb[:800])
    assert not np.array_equal(sa[800:], sb[800:])


def test_state_size_does_not_grow_with_history():
    st = DetectorState(3)

    def size() -> int:
        return sum(v.nbytes for v in vars(st).values() if isinstance(v, np.ndarray))

    for i in range(100):
        st.step(T0 + i * STEP, _noise(3, i))
    before = size()
    for i in range(100, 3000):
        st.step(T0 + i * STEP, _noise(3, i))
    assert size() == before


def _peak(scores: np.ndarray, lo: int, hi: int) -> float:
    return float(scores[lo:hi].max())


def test_spike_is_flagged_and_noise_is_not():
    n = 1500
    v = _noise(n, 5)
    v[1000] += 12
    s = score_arrays(_t(n), v)[:, 0]
    assert s[1000] >= FLAG
    assert _peak(s, 300, 995) < FLAG
    assert int(np.argmax(s)) == 1000


def test_level_shift_is_flagged_once_then_learned():
    n = 2000
    v = _noise(n, 6)
    v[1200:] += 8
    s = score_arrays(_t(n), v)[:, 0]
    assert _peak(s, 1200, 1205) >= FLAG
    assert _peak(s, 1300, n) < FLAG  # the new level became normal


def test_flatline_of_a_noisy_series_is_flagged():
    n = 1500
    v = _noise(n, 7)
    v[1000:1100] = v[999]
    s = score_arrays(_t(n), v)[:, 0]
    assert _peak(s, 1000, 1100) >= FLAG
    assert _peak(s, 300, 999) < FLAG


def test_dropout_of_a_reporting_series_is_flagged():
    n = 1500
    v = _noise(n, 8)
    v[1000:1020] = np.nan
    s = score_arrays(_t(n), v)[:, 0]
    assert _peak(s, 1000, 1020) >= FLAG
    assert _peak(s, 300, 999) < FLAG


def test_counter_resets_are_not_anomalies():
    n = 1500
    inc = np.abs(_noise(n, 9, 10.0, 1.0))
    c = np.cumsum(inc)
    c[1000:] -= c[999]  # the process restarts: the counter starts again from (about) zero
    as_counter = score_arrays(_t(n), c, counters=[True])[:, 0]
    as_gauge = score_arrays(_t(n), c)[:, 0]
    assert as_counter[1000] < FLAG
    assert _peak(as_counter, 300, n) < FLAG
    assert as_gauge[1000] >= FLAG  # a gauge that falls off a cliff is anomalous


def test_missing_daily_peak_is_flagged_by_the_seasonal_profile():
    n = 288 * 6
    t = _t(n)
    day = np.sin(2 * np.pi * ((t % 86400) / 86400)) * 20
    v = 100 + day + _noise(n, 10, 0.0, 0.5)
    peak = slice(288 * 5 + 60, 288 * 5 + 84)  # the daily high of the last day never comes
    v[peak] = 100
    s = score_arrays(t, v)[:, 0]
    assert _peak(s, peak.start, peak.stop) >= FLAG
    assert _peak(s, 288 * 2, 288 * 5) < FLAG  # the cycle itself is learned as normal


def test_score_frame_keeps_index_and_columns_and_validates():
    n = 400
    idx = pd.date_range("2026-01-01", periods=n, freq="5min", tz="UTC")
    wide = pd.DataFrame({"a": _noise(n, 11), "b": _noise(n, 12)}, index=idx)
    out = score_frame(wide, progress=False)
    assert list(out.columns) == ["a", "b"] and out.index.equals(idx)
    np.testing.assert_array_equal(out.to_numpy(), score_arrays(_t(n) * 0 + idx.asi8 / 1e9, wide.to_numpy()))
    with pytest.raises(InputError, match="DatetimeIndex"):
        score_frame(wide.reset_index(drop=True))
    with pytest.raises(InputError, match="level_alpha"):
        DetectorConfig(level_alpha=0.0)
