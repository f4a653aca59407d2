"""predict.failures counts crossings of each path's maximum over the horizon on the history's own error paths
(the fitted model's real multi-step errors from every earlier origin), not on the simulated ETS paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from promv5_lab.analysis import predict
from promv5_lab.analysis.capacity import first_crossing, time_to_limit
from promv5_lab.analysis.forecast_errors import (
    MIN_ORIGINS,
    climate_changes,
    crossing_probability,
    history_paths,
)
from promv5_lab.errors import InputError


def noisy_level(n: int = 1500, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(50.0 + rng.standard_normal(n), name="x",
                     index=pd.date_range("2026-01-01", periods=n, freq="60s", tz="UTC"))


def test_history_paths_are_the_mean_plus_whole_error_rows():
    mean = np.array([1.0, 2.0, 3.0])
    errors = np.arange(3.0 * (MIN_ORIGINS + 2)).reshape(-1, 3)
    errors[0, 2] = np.nan  # an origin whose horizon ran past the history: left out
    errors[5, 0] = np.nan
    paths = history_paths(errors, mean, np.array([1.0, 2.0, 1.0]))
    assert paths.shape == (3, MIN_ORIGINS)
    np.testing.assert_allclose(paths[:, 0], mean + errors[1] * [1.0, 2.0, 1.0])
    assert history_paths(errors[:MIN_ORIGINS], mean) is None  # 2 incomplete rows: too few whole paths
    assert history_paths(errors, mean[:2]) is None


def test_failures_probability_is_the_share_of_history_paths_whose_maximum_crosses():
    s = noisy_level()
    (res,) = predict.failures(s, threshold=52.0, horizon="30m", simulations=100)
    assert res.params["crossing"] == "history" and res.params["crossing_paths"] > 1000
    paths = res.forecast.error_paths
    assert paths.shape == (30, res.params["crossing_paths"])
    # the share of paths whose maximum crosses, shrunk toward the history's own crossing rate (round 7)
    share = np.mean(first_crossing(paths, 52.0, True) >= 0)
    climate = climate_changes(s.to_numpy(), 30, 0)
    assert res.probability == pytest.approx(crossing_probability(paths, climate, 52.0, True, s.iloc[-1], 30))
    assert abs(res.probability - share) < 0.1
    # the maximum of 30 independent N(50, 1) samples reaches 52 with probability 1 - Phi(2)^30 = 0.50; the
    # last value of any single step would say 0.02
    assert 0.35 < res.probability < 0.65, res.probability
    (far,) = predict.failures(s, threshold=55.0, horizon="30m", simulations=100)
    assert far.probability < 0.02


def test_a_history_too_short_for_whole_error_paths_uses_the_simulated_ones():
    s = noisy_level(600)
    res = time_to_limit(s, 52.0, 12 * 3600, simulations=50, crossing="history")  # 720 steps > 600 points
    assert res.params["crossing"] == "simulated" and res.forecast.error_paths is None
    assert res.params["crossing_paths"] == 50
    sim = time_to_limit(s, 52.0, 1800, simulations=50)  # capacity's default: simulated paths
    assert sim.params["crossing"] == "simulated" and sim.forecast.error_paths is None
    with pytest.raises(InputError, match="crossing"):
        time_to_limit(s, 52.0, 1800, crossing="sampled")


def test_the_share_is_shrunk_toward_the_historys_own_crossing_rate():
    """n = origins / steps independent windows of the paths, the climatology worth FAILURE_PRIOR_WINDOWS:
    every path crossing but the history itself only half the time from here gives less than 1."""
    from promv5_lab.analysis.forecast_errors import FAILURE_PRIOR_WINDOWS

    steps = 10
    paths = np.full((steps, 400), 5.0)  # every path reaches 5 (40 independent windows)
    climate = np.zeros((steps, 60))
    climate[:, :30] = 2.0  # from last = 3: half the history's windows reach 5
    a = FAILURE_PRIOR_WINDOWS
    p = crossing_probability(paths, climate, 5.0, True, 3.0, steps)
    assert p == pytest.approx((40 * 1.0 + a * 0.5) / (40 + a)) and 0.5 < p < 1.0
    assert crossing_probability(paths, climate, 5.0, True, 3.0, steps, prior=0.0) == 1.0
    # a threshold neither the paths nor the history ever reached stays impossible
    assert crossing_probability(paths, climate, 9.0, True, 3.0, steps) == 0.0
    # too few climatological windows: the paths' share alone
    assert crossing_probability(paths, climate[:, :MIN_ORIGINS - 1], 5.0, True, 3.0, steps) == 1.0
    # falling thresholds count the minimum
    assert crossing_probability(paths - 4.0, -climate, 1.0, False, 3.0, steps) == pytest.approx(
        (40 * 1.0 + a * 0.5) / (40 + a))


def test_the_climatology_comes_from_origins_at_the_same_phase_of_the_cycle():
    """A cycle of 48 steps: only origins within 48 / 24 = 2 steps of the current phase count, so a series
    that always rises at this time of day is expected to rise (all origins would say half the time)."""
    period, days, steps = 48, 20, 4
    t = np.arange(period * days)
    y = np.where((t % period) < period // 2, t % period, period - t % period).astype(float)  # up, then down
    y = y[: period * (days - 1) + 10]  # now = 10 steps into the rising half of the cycle
    change = climate_changes(y, steps, period)
    n = y.size
    origins_phase = [o for o in range(1, n - steps + 1) if min((o - n) % period, period - (o - n) % period) <= 2]
    assert change.shape == (steps, len(origins_phase))
    assert (change[-1] > 0).all()  # from this phase the series always rose
    everywhere = climate_changes(y, steps, 0)
    assert everywhere.shape[1] == n - steps and 0.3 < np.mean(everywhere[-1] > 0) < 0.7
    gappy = y.copy()
    gappy[100] = np.nan  # windows over a gap are left out
    assert climate_changes(gappy, steps, 0).shape[1] == n - steps - steps - 1
