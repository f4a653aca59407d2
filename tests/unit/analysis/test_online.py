"""The online ensemble behind ``promv5-lab detect`` (promv5_lab/analysis/online.py): causal, calibrated."""

from __future__ import annotations

import math

import numpy as np
import pytest

from promv5_lab.analysis.online import (
    NAB_THRESHOLD,
    OnlineConfig,
    compress,
    novelty_scores,
    rank_tail_counts,
    score_matrix,
    score_series,
)
from promv5_lab.errors import InputError

STEP = 300.0  # 5-minute rows, as most NAB files


def _series(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    t = 1.4e9 + STEP * np.arange(n)
    day = np.sin(2 * np.pi * t / 86400.0)
    return t, 50 + 5 * day + rng.standard_normal(n)


@pytest.fixture(scope="module")
def with_spike():
    t, v = _series(1000)
    v[700] += 40  # an anomaly that one cut sees and the other does not
    return t, v, score_series(t, v)


@pytest.mark.parametrize("cut", [550, 850])
def test_no_peeking_changing_the_future_never_changes_past_scores(with_spike, cut):
    t, v, base = with_spike
    assert base[700] >= NAB_THRESHOLD
    rng = np.random.default_rng(cut)
    for future in (rng.normal(0, 100, v.size - cut - 1), np.full(v.size - cut - 1, np.nan)):
        w = v.copy()
        w[cut + 1:] = future
        s = score_series(t, w)
        np.testing.assert_array_equal(s[:cut + 1], base[:cut + 1])
        assert not np.array_equal(s, base)  # the changes did reach the later rows


def test_batched_series_of_different_lengths_score_as_if_alone():
    t1, v1 = _series(1000, seed=1)
    t2, v2 = _series(700, seed=2)
    v1[800] -= 30
    v2[600] += 30
    t = np.column_stack([t1, np.r_[t2, np.full(300, t2[-1])]])
    v = np.column_stack([v1, np.r_[v2, np.full(300, np.nan)]])
    both = score_matrix(t, v)
    np.testing.assert_allclose(both[:, 0], score_series(t1, v1), atol=1e-12)
    np.testing.assert_allclose(both[:700, 1], score_series(t2, v2), atol=1e-12)
    assert both[800, 0] >= NAB_THRESHOLD and both[600, 1] >= NAB_THRESHOLD


def test_a_spike_and_a_level_shift_are_flagged_and_noise_mostly_is_not():
    t, v = _series(2000, seed=3)
    v[1200] += 25
    v[1700:] += 12
    s = score_series(t, v)
    flags = np.flatnonzero(s >= NAB_THRESHOLD)
    assert 1200 in flags
    assert any(1700 <= i <= 1710 for i in flags)
    noise = [i for i in flags if not (1200 <= i <= 1210 or 1700 <= i <= 1800)]
    # Gaussian noise has new records now and then: about one flag per 400 rows (measured), not more
    assert len(noise) <= 0.005 * 1750, noise
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(s[:120] == 0)  # learning first


def test_a_report_holds_repeats_of_the_same_event_but_not_a_later_one():
    t, v = _series(1100, seed=4)
    v[600] += 30
    v[630] += 30   # the same event again, inside the hold: not a second report
    v[680] -= 400  # inside the hold but far stronger: breaks through
    v[1000] += 30  # the same size, after the hold: reported
    s = score_series(t, v)
    assert 680 - 600 <= OnlineConfig().hold
    assert s[600] >= NAB_THRESHOLD
    assert s[630] < NAB_THRESHOLD
    assert s[680] >= NAB_THRESHOLD
    assert s[1000] >= NAB_THRESHOLD
    # without the hold the repeat would have been reported
    unheld = score_series(t, v, OnlineConfig(hold=0, hold_fraction=0.0))
    assert unheld[630] >= NAB_THRESHOLD


def test_the_hold_grows_with_the_history():
    t, v = _series(1900, seed=6)
    v[1700] += 30
    v[1805] += 30  # 105 rows later: past the fixed 100-row hold, inside 6 % of 1,805 rows
    s = score_series(t, v)
    assert s[1700] >= NAB_THRESHOLD and s[1805] < NAB_THRESHOLD
    fixed = score_series(t, v, OnlineConfig(hold_fraction=0.0))
    assert fixed[1805] >= NAB_THRESHOLD


def test_novelty_is_a_level_never_visited_before():
    # the first 8 values span [0, 3]: 4 levels of width 0.75, so 0, 1, 2, 3 fall in levels 0, 1, 2, 4;
    # 1.8 falls in level 2, 2.5 in level 3 (inside the range, never visited), 7 in level 9 (outside it)
    v = np.array([0, 1, 2, 3] * 4 + [1.8, 0, 2.5, 2.5, 7, 1, 7, -1], dtype=float)
    out = novelty_scores(v, levels=4, init=8, warmup=8)
    assert out[:16].sum() == 0  # rows 8..15 learn levels too (never scored)
    assert out[16] == 0.0       # 1.8: level 2, visited
    assert out[17] == 0.0       # 0: visited
    assert out[18] == 1.0       # 2.5: level 3, never visited though inside the first rows' range
    assert out[19] == 0.0       # 2.5 again: visited once already
    assert out[20] == 1.0       # 7: level 9, new
    assert out[21] == 0.0 and out[22] == 0.0  # back to 1, then 7 again: both visited
    assert out[23] == 1.0       # -1: level -2, below the range, new
    with_nan = v.copy()
    with_nan[18] = np.nan       # a missing value scores 0 and is no level
    out2 = novelty_scores(with_nan, levels=4, init=8, warmup=8)
    np.testing.assert_array_equal(out2[:18], out[:18])
    assert out2[18] == 0.0 and out2[19] == 1.0  # the first 2.5 is now row 19
    # a level visited only during the learning rows (the first init + warmup values) is not new
    learnt = np.array([0, 3] * 4 + [0, 3, 2.5, 0, 3, 0, 3, 0] + [2.5, 1.0], dtype=float)
    out3 = novelty_scores(learnt, levels=4, init=8, warmup=8)
    assert out3[16] == 0.0 and out3[17] == 1.0  # 2.5 was seen at row 10; 1.0 (level 1) never


def test_rank_tail_counts_are_earlier_values_as_extreme_on_the_same_side():
    v = np.array([5, 7, 3, 5, 9, np.nan, 1, 5, 9], dtype=float)
    # 5: nothing before; 7: new max; 3: new min; 5: (5, 7 >=) vs (5, 3 <=) -> 2; 9: new max; NaN: 0;
    # 1: new min; 5: >= {5, 7, 5, 9} = 4, <= {5, 3, 5, 1} = 4; 9: >= {9} = 1
    np.testing.assert_array_equal(rank_tail_counts(v), [0, 0, 0, 2, 0, 0, 0, 4, 1])


@pytest.mark.parametrize("chunk", [1, 3, 64, 2048])
def test_rank_tail_counts_block_list_matches_counting_every_earlier_value(chunk):
    rng = np.random.default_rng(chunk)
    v = np.r_[rng.integers(0, 12, 1500).astype(float), rng.standard_normal(1500)]  # ties, then no ties
    v[rng.random(v.size) < 0.05] = np.nan
    expected = np.zeros(v.size)
    for i, x in enumerate(v):
        past = v[:i][np.isfinite(v[:i])]
        if np.isfinite(x):
            expected[i] = min(np.sum(past >= x), np.sum(past <= x))
    got = rank_tail_counts(v, chunk=chunk)
    np.testing.assert_array_equal(got, expected)
    assert got.max() > 100  # the blocks were split many times for small chunks


def test_a_spike_height_reached_many_times_before_is_old_news():
    # a count series whose spikes all reach the same value: the first five are reports; once five earlier
    # values were as high, the record that a spike still sets is discounted (the rank part of online.py)
    rng = np.random.default_rng(7)
    n = 4000
    t = 1.4e9 + STEP * np.arange(n)
    v = rng.poisson(20, n).astype(float)
    spikes = list(range(700, 3900, 400))  # 400 rows apart: past every hold
    v[spikes] = 200.0
    s = score_series(t, v)
    off = score_series(t, v, OnlineConfig(rank_count=0))
    assert all(s[i] >= NAB_THRESHOLD for i in spikes[:5])
    assert all(off[i] >= NAB_THRESHOLD for i in spikes)  # without the rank part every one is reported
    assert all(s[i] < NAB_THRESHOLD for i in spikes[5:])
    # everything else is reported as before (common values' low scores shrink too, but stay below the flag)
    head = slice(0, spikes[5])
    np.testing.assert_array_equal(s[head] >= NAB_THRESHOLD, off[head] >= NAB_THRESHOLD)


def test_a_contextual_break_is_not_discounted_by_the_rank_part():
    # the daily cycle flips for 100 rows: every value is common, but not at that time of day
    rng = np.random.default_rng(8)
    t = 1.4e9 + STEP * np.arange(3000)
    day = np.sin(2 * np.pi * t / 86400.0)
    v = 50 + 20 * day + rng.standard_normal(3000)
    v[2300:2400] = 50 - 20 * day[2300:2400] + rng.standard_normal(100)
    s = score_series(t, v)
    assert s[2300:2310].max() >= NAB_THRESHOLD
    assert rank_tail_counts(v)[2300:2310].min() >= 5  # the values had all been seen: only the context is new


def test_identical_spikes_in_a_flat_series_stop_being_records():
    # NAB's art_increase_spike_density shape: 0 everywhere, pairs of spikes of 20 every 100 rows. Between
    # spikes the surprise's scale shrinks, so each spike is a larger z than the last (x1.2 each time):
    # without the knee every pair kept setting a record and was reported
    n = 4000
    t = 1.4e9 + STEP * np.arange(n)
    v = np.zeros(n)
    v[np.r_[0:n:100, 6:n:100]] = 20.0
    with_knee = score_series(t, v)
    without = score_series(t, v, OnlineConfig(z_knee=math.inf))
    assert np.count_nonzero(without[2400:] >= NAB_THRESHOLD) >= 5
    assert np.count_nonzero(with_knee[2400:] >= NAB_THRESHOLD) == 0
    # the first reports are the same: the knee only changes deviations beyond it
    np.testing.assert_array_equal(with_knee[:1000] >= NAB_THRESHOLD, without[:1000] >= NAB_THRESHOLD)


def test_compress_is_the_identity_below_the_knee_and_logarithmic_above():
    z = np.array([0.0, 1.0, 199.9, 200.0, 200.0 * math.e, 200.0 * math.e ** 2, np.inf])
    got = compress(z, 200.0)
    np.testing.assert_allclose(got[:4], z[:4])
    np.testing.assert_allclose(got[4:6], [400.0, 600.0])
    assert np.all(np.diff(got) > 0) and np.isinf(got[-1])
    np.testing.assert_array_equal(compress(z, math.inf), z)


def test_counters_are_scored_on_increments():
    t = 1.4e9 + STEP * np.arange(800)
    rng = np.random.default_rng(5)
    inc = rng.poisson(20, 800).astype(float)
    v = np.cumsum(inc)
    v[600:] -= v[599]         # a counter reset: not an anomaly
    s = score_series(t, v, counter=True)
    assert s[600] < NAB_THRESHOLD
    gauge = score_series(t, v, OnlineConfig(hold=0, hold_fraction=0.0))  # read as a gauge, the reset is a huge drop
    assert gauge[600] >= NAB_THRESHOLD


@pytest.mark.parametrize("kwargs, message", [
    ({"level_window": 0}, "level_window"),
    ({"record_decay": 1.5}, "record_decay"),
    ({"hold": -1}, "hold"),
    ({"hold_fraction": 2.0}, "hold_fraction"),
    ({"novelty_weight": 2.0}, "novelty_weight"),
    ({"rank_count": -1}, "rank_count"),
    ({"rank_share": -0.5}, "rank_share"),
    ({"rank_factor": 1.5}, "rank_factor"),
    ({"z_knee": 0.0}, "z_knee"),
])
def test_bad_config_is_a_clear_error(kwargs, message):
    with pytest.raises(InputError, match=message):
        OnlineConfig(**kwargs)


def test_bad_inputs_are_clear_errors():
    t, v = _series(200)
    with pytest.raises(InputError, match="timestamps"):
        score_series(t[:-1], v)
    with pytest.raises(InputError, match="report level"):
        score_series(t, v, report=1.5)
    with pytest.raises(InputError, match="counters"):
        score_matrix(t, np.column_stack([v, v]), counters=[True])
