"""The plain-Python surprise recursion (analysis/online_fast.py) is DetectorState's, exactly."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from promv5_lab.analysis.detect import DetectorConfig, DetectorState
from promv5_lab.analysis.online import SURPRISE_CONFIG, OnlineConfig, score_matrix, score_series
from promv5_lab.analysis.online_fast import supports, surprise_1d

STEP = 300.0


def _numpy_surprise(t, v, config, counter=False):
    state = DetectorState(1, config, [counter])
    out = np.empty(v.size)
    for i in range(v.size):
        state.step(t[i], v[i:i + 1])
        out[i] = state.last_surprise[0]
    return out


def _awkward(seed, n=1400):
    """Daily cycle, noise, gaps, spikes, a level shift, a flatline and an integer-valued stretch."""
    rng = np.random.default_rng(seed)
    t = 1.4e9 + STEP * np.arange(n) + rng.uniform(0, 30, n)  # irregular sampling
    v = 50 + 10 * np.sin(2 * np.pi * t / 86400.0) + rng.standard_normal(n)
    v[rng.choice(n, 40, replace=False)] = np.nan
    v[300:305] = np.nan                 # a drop-out
    v[500] += 60
    v[700:] += 15
    v[900:960] = v[899] if np.isfinite(v[899]) else 50.0  # a flatline
    v[1000:1200] = np.round(v[1000:1200])
    return t, v


CONFIGS = {
    "nab": SURPRISE_CONFIG,
    "no season, cusum, burst": dataclasses.replace(SURPRISE_CONFIG, season_s=0.0, cusum_h=5.0, burst_min=1.5),
    "min models": dataclasses.replace(SURPRISE_CONFIG, models="min", season_buckets=24),
    "defaults": DetectorConfig(),
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("seed", [0, 1])
def test_same_surprises_as_detector_state(name, seed):
    t, v = _awkward(seed)
    cfg = CONFIGS[name]
    expected = _numpy_surprise(t, v, cfg)
    assert np.max(expected) > 10  # the spike, flatline and drop-out did score: the comparison means something
    np.testing.assert_array_equal(surprise_1d(t, v, cfg), expected)


def test_counters_too():
    rng = np.random.default_rng(5)
    t = 1.4e9 + STEP * np.arange(900)
    v = np.cumsum(rng.poisson(20, 900)).astype(float)
    v[400:] -= v[400] - 3  # a reset
    v[600] = np.nan
    v[700:] += np.arange(200) * 50  # a burst of increments
    np.testing.assert_array_equal(surprise_1d(t, v, SURPRISE_CONFIG, counter=True),
                                  _numpy_surprise(t, v, SURPRISE_CONFIG, counter=True))


def test_unsupported_configs_are_refused_and_score_series_falls_back():
    interp = dataclasses.replace(SURPRISE_CONFIG, season_interp=True)
    assert not supports(interp) and supports(SURPRISE_CONFIG)
    with pytest.raises(ValueError):
        surprise_1d(np.arange(3.0), np.arange(3.0), interp)
    t, v = _awkward(2)
    cfg = OnlineConfig(surprise=interp)
    # one series alone (numpy fallback) and the same series in a batch of two score alike
    alone = score_series(t, v, cfg)
    both = score_matrix(t, np.column_stack([v, v[::-1]]), cfg)
    np.testing.assert_allclose(alone, both[:, 0], atol=1e-12)


def test_one_series_scores_as_in_a_batch():
    """The CLI path (one series: Python floats) and the benchmark's batch (numpy) give the same scores."""
    t, v = _awkward(3)
    _, w = _awkward(4)
    both = score_matrix(t, np.column_stack([v, w]))
    np.testing.assert_allclose(score_series(t, v), both[:, 0], atol=1e-12)
    np.testing.assert_allclose(score_series(t, w), both[:, 1], atol=1e-12)
    assert not math.isnan(float(np.sum(both)))


def test_record_and_hold_of_one_series_match_the_batched_steps():
    from promv5_lab.analysis import online

    rng = np.random.default_rng(7)
    z = np.abs(rng.standard_normal((3000, 3))) * rng.choice([1.0, 6.0], (3000, 3), p=[0.98, 0.02])
    cfg = OnlineConfig()
    rec = online._record(z, cfg)  # three columns: the numpy path
    np.testing.assert_array_equal(rec, np.column_stack([online._record(z[:, [j]], cfg) for j in range(3)]))
    s = 0.8 * rec
    held = online._hold(s, 0.44, 100, 0.06)
    np.testing.assert_array_equal(held, np.column_stack([online._hold(s[:, [j]], 0.44, 100, 0.06) for j in range(3)]))
    assert (s >= 0.44).sum() >= 5 and np.any((held < s) & (s > 0.2))  # reports happened and later rows were held
