"""predict.failures and the sampled interval floor on the demo world, at several end times of its history.

The session's demo history ends "now", so the time of day of every cut below differs from run to run:
the assertions are properties that must hold at any phase of the daily cycle, not figures of one world
(those are in ``benchmarks/forecast_mase.py``). Read through the embedded engine over the simulated files.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import numpy as np
import pytest

from promv5_lab.analysis import forecast_errors, predict
from promv5_lab.analysis.capacity import _climate, first_crossing
from promv5_lab.analysis.forecast import Forecaster
from promv5_lab.analysis.forecast_errors import crossing_probability
from promv5_lab.backends.embedded import EmbeddedBackend
from promv5_lab.frames import to_wide
from promv5_lab.types import TimeRange

STEP = 300
CUTS_H = (0, 7, 13, 19)  # hours before the end of the history: four phases of the day


@pytest.fixture(scope="module")
def traffic(demo_history):
    be = EmbeddedBackend.open(demo_history.out_dir)
    tr = TimeRange(demo_history.start + timedelta(minutes=10), demo_history.end, STEP)
    wide = to_wide(be.query_range("sum by (service) (rate(http_requests_total[5m]))", tr).frame, step_s=STEP)
    cols = [c for c in wide.columns if 'service="frontend"' in c or 'service="checkout"' in c]
    assert len(cols) == 2
    return wide[cols]


def _cut(wide, hours):
    hist = wide.iloc[: len(wide) - hours * 3600 // STEP] if hours else wide
    hist = hist.copy()
    hist.index.freq = wide.index.freq
    return hist


@pytest.mark.parametrize("hours", CUTS_H)
def test_failure_probabilities_are_shrunk_shares_and_fall_with_the_distance(traffic, hours):
    hist = _cut(traffic, hours)
    for col in hist.columns:
        s = hist[col]
        last = float(s.dropna().iloc[-1])
        moves = np.abs(np.diff(s.dropna().to_numpy()[::12]))
        scale = float(np.median(moves)) or float(np.mean(moves))
        (res,) = predict.failures(s, threshold=last + scale, horizon="1h", simulations=50)
        assert res.params["crossing"] == "history", res.params
        paths = res.forecast.error_paths
        steps = paths.shape[0]
        climate = _climate(s, res.forecast.params, steps)
        assert climate.shape[0] == steps and climate.shape[1] >= forecast_errors.MIN_ORIGINS
        assert res.probability == pytest.approx(crossing_probability(paths, climate, last + scale, True, last, steps))
        probs = []
        for c in (0.25, 0.5, 1.0, 2.0, 4.0, 50.0):
            thr = last + c * scale
            p = crossing_probability(paths, climate, thr, True, last, steps)
            share = float(np.mean(first_crossing(paths, thr, True) >= 0))
            clim = float(np.mean(first_crossing(last + climate, thr, True) >= 0))
            assert min(share, clim) - 1e-12 <= p <= max(share, clim) + 1e-12
            probs.append(p)
        assert all(a >= b for a, b in itertools.pairwise(probs)), probs
        # 50 typical hourly moves up within the hour: only a surge incident of the history says it can happen
        assert probs[-1] < 0.1 and probs[0] > probs[-1] + 0.2, probs


@pytest.mark.parametrize("hours", CUTS_H[:2])
def test_a_sampled_floor_gives_nearly_the_exact_interval(traffic, hours, monkeypatch):
    """3 days at 5 min and a 6 h horizon fit the floor's budget (exact); with the budget cut to a 40th the
    floor samples every few origins, and the interval barely moves."""
    s = _cut(traffic, hours).iloc[:, 0]
    exact = Forecaster().forecast(s, 6 * 3600)
    assert exact.params["empirical_stride"] == 1 and exact.params["empirical_origins"] > 300
    monkeypatch.setattr(forecast_errors, "FLOOR_ELEMENTS", exact.params["empirical_origins"] * 72 // 40)
    sampled = Forecaster().forecast(s, 6 * 3600)
    assert sampled.params["empirical_stride"] > 1
    w0 = (exact.upper - exact.lower).to_numpy()
    w1 = (sampled.upper - sampled.lower).to_numpy()
    np.testing.assert_allclose(sampled.mean.to_numpy(), exact.mean.to_numpy())
    assert np.median(np.abs(w1 / np.where(w0 > 0, w0, 1.0) - 1.0)) < 0.1, (w0, w1)
