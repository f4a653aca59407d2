"""Per-series thresholds calibrated to a false-positive rate, and detect() over a wide frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from promv5_lab.analysis.learn import detect, flags_to_anomalies, learn_thresholds
from promv5_lab.errors import InputError


def _wide(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2026-01-01", periods=n, freq="1min", tz="UTC")
    wide = pd.DataFrame({"quiet": 10 + rng.standard_normal(n), "spiky": 10 + rng.standard_normal(n)}, index=idx)
    wide.iloc[1200, 1] += 25
    wide.iloc[1300:1310, 1] += 25
    return wide


def test_thresholds_follow_the_quantile_within_floor_and_cap():
    idx = pd.date_range("2026-01-01", periods=1000, freq="1min", tz="UTC")
    scores = pd.DataFrame({"a": np.linspace(0, 1, 1000), "b": np.zeros(1000)}, index=idx)
    th = learn_thresholds(scores, target_fpr=0.1, floor=0.2, cap=0.95)
    assert th["a"] == pytest.approx(0.9, abs=1e-3)  # 10 % of the samples are above it
    assert th["b"] == 0.2  # never below the floor
    assert learn_thresholds(scores, target_fpr=0.001, floor=0.2, cap=0.95)["a"] == 0.95
    with pytest.raises(InputError, match="target_fpr"):
        learn_thresholds(scores, target_fpr=0.0)


def test_detect_flags_the_anomalies_and_keeps_provenance():
    wide = _wide()
    res = detect(wide, progress=False)
    assert set(res.thresholds) == {"quiet", "spiky"}
    assert res.scores.shape == wide.shape and res.flags.dtypes.eq(bool).all()
    spiky = [a for a in res.anomalies if a.series == "spiky"]
    assert any(a.start <= wide.index[1200].to_pydatetime() <= a.end for a in spiky)
    assert not [a for a in res.anomalies if a.series == "quiet"]
    assert res.false_alarm_rate() < 0.01
    assert res.params["config"]["level_alpha"] > 0 and res.params["target_fpr"] == 0.005
    assert res.flagged_series() == ["spiky"]


def test_training_slice_and_episode_grouping():
    wide = _wide()
    res = detect(wide, train=slice(0, 1000), progress=False)
    assert set(res.thresholds) == {"quiet", "spiky"}
    flags = pd.DataFrame({"s": [False, True, True, False, False, True] + [False] * 20 + [True]},
                         index=pd.date_range("2026-01-01", periods=27, freq="1min", tz="UTC"))
    eps = flags_to_anomalies(flags.astype(float), flags, {"s": 0.5}, merge_gap=3)
    assert [(e.samples, e.start.minute) for e in eps] == [(5, 1), (1, 26)]
    with pytest.raises(InputError):
        detect(pd.DataFrame(), progress=False)


def test_seasonality_is_learned_per_series_and_used():
    from promv5_lab.analysis.seasonality import learn_periods

    n = 288 * 6
    idx = pd.date_range("2026-01-05", periods=n, freq="5min", tz="UTC")
    t = np.arange(n) * 300.0
    rng = np.random.default_rng(1)
    wide = pd.DataFrame({"daily": 50 + 10 * np.sin(2 * np.pi * t / 86400) + rng.standard_normal(n),
                         "hourly": 50 + 5 * np.sin(2 * np.pi * t / 3600) + rng.standard_normal(n),
                         "noise": 50 + rng.standard_normal(n)}, index=idx)
    found = learn_periods(wide)
    assert found["daily"].period_s == 86400 and found["daily"].strength > 0.5
    assert found["hourly"].period_s == 3600
    assert found["noise"].period_s == 0
    wide.iloc[288 * 5 + 60:288 * 5 + 84, 0] = 50.0  # the last daily peak never comes
    res = detect(wide, seasonality="auto", train=slice(0, 288 * 4), progress=False)
    assert res.params["periods_s"] == {"daily": 86400.0, "hourly": 3600.0, "noise": 0.0}
    assert any(a.series == "daily" and a.start >= idx[288 * 5 + 60].to_pydatetime() for a in res.anomalies)
    with pytest.raises(InputError, match="seasonality"):
        detect(wide, seasonality="sometimes", progress=False)


def test_learn_nab_threshold_is_the_online_detectors_one():
    """One definition: ``learn.NAB_THRESHOLD`` (kept for old imports) is the threshold ``detect`` uses."""
    from promv5_lab.analysis import learn, online

    assert learn.NAB_THRESHOLD == online.NAB_THRESHOLD
    assert "NAB_THRESHOLD" in learn.__all__
