"""The interval floor's work and memory are bounded on long histories x long horizons (issue 5, round 7).

Every origin x every step ahead of a 200,000-point history with a 7-day horizon at 1 minute would be
2e9 errors (16 GB); beyond :data:`forecast_errors.FLOOR_ELEMENTS` the floor measures every stride-th
origin at most :data:`forecast_errors.MAX_COLUMNS` steps ahead and interpolates between them. On a short
history the sampled floor must give the same coverage as the exact one."""

from __future__ import annotations

import tracemalloc
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from promv5_lab.analysis.forecast import Forecaster
from promv5_lab.analysis.forecast_errors import (
    MAX_COLUMNS,
    empirical_half_widths,
    floor_half_widths,
    multi_step_errors,
    sample_plan,
)
from promv5_lab.analysis.forecast_models import fit_candidate

LONG = 200_000
WEEK = 7 * 1440
PEAK_BYTES = 200e6  # measured 36 MB for the whole forecast; the exact floor would need > 16 GB


def long_series(n: int = LONG, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 50 + 10 * np.sin(2 * np.pi * t / 1440) + np.cumsum(rng.normal(0, 0.05, n)) + rng.normal(0, 1, n)
    return pd.Series(y, index=pd.date_range("2026-01-01", periods=n, freq="60s", tz="UTC"))


def test_a_week_ahead_from_200k_minutes_stays_within_a_memory_bound():
    s = long_series()
    tracemalloc.start()
    try:
        r = Forecaster(method="snaive").forecast(s, 7 * 86400)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"peak {peak / 1e6:.0f} MB"
    p = r.params
    assert len(r.mean) == WEEK and p["empirical_steps"] == WEEK
    assert p["empirical_stride"] > 1 and p["empirical_columns"] <= MAX_COLUMNS
    assert p["empirical_origins"] * p["empirical_columns"] <= 2 * 2_000_000
    lo, mid, hi = r.lower.to_numpy(), r.mean.to_numpy(), r.upper.to_numpy()
    assert np.isfinite(lo).all() and np.isfinite(hi).all() and (lo <= mid).all() and (mid <= hi).all()
    # the random walk under the cycle: a week ahead is much less certain than a minute ahead
    assert (hi - lo)[-1440:].mean() > 2 * (hi - lo)[:60].mean()


def test_ets_errors_from_states_are_sampled_within_the_bound():
    """ETS's errors come from its filtered states (a fit on 200k points is not needed to check the memory:
    states of the right shape are)."""
    s = long_series().to_numpy()
    states = pd.DataFrame({"level": s - 0.5, "trend": np.full(s.size, 1e-4)})
    fit = SimpleNamespace(states=states)
    at, stride = sample_plan(s.size, WEEK)
    assert at is not None and at.size <= MAX_COLUMNS and at[0] == 1 and at[-1] == WEEK and stride > 1
    tracemalloc.start()
    try:
        e = multi_step_errors("ets", fit, s, s, WEEK, period=0, profile=None, params={}, at=at, stride=stride)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES / 2, f"peak {peak / 1e6:.0f} MB"
    assert e.shape[1] == at.size and e.size <= 2_000_000 + at.size
    # step h from origin o: s[o + h - 1] - (level[o - 1] + h * trend)
    o = 10 + 3 * stride
    row = (o - 10) // stride
    np.testing.assert_allclose(e[row, :5], s[o + at[:5] - 1] - (s[o - 1] - 0.5 + at[:5] * 1e-4))


@pytest.mark.parametrize("method", ["snaive", "ets", "sarimax"])
def test_sampled_errors_are_the_exact_ones_at_the_sampled_origins_and_steps(method):
    rng = np.random.default_rng(2)
    n, steps, period = 400, 300, 48
    y = 10 + np.sin(2 * np.pi * np.arange(n) / period) + rng.normal(0, 0.2, n)
    c = fit_candidate(method, y, steps, 0.8, period=period if method == "snaive" else 0)
    kw = {"period": 0, "profile": None, "params": c.params}
    exact = multi_step_errors(method, c.fit, y, y, steps, **kw)
    at, stride = sample_plan(n, steps, budget=20_000)
    assert at is not None and stride > 1
    sampled = multi_step_errors(method, c.fit, y, y, steps, at=at, stride=stride, **kw)
    np.testing.assert_allclose(sampled, exact[::stride][:, at - 1], rtol=1e-9, atol=1e-9)


def test_the_sampled_floor_covers_like_the_exact_one_on_short_histories():
    """Random walks with rare level shifts, 1,500 points and a 400-step horizon (600,000 errors): the floor
    alone (no calibrated widths under it), exact and sampled to a 100,000-element budget (220 steps ahead,
    every 4th origin). Coverage of the 80 % interval on the held-back 400 steps after 20 histories
    (measured: exact 0.643, sampled 0.650; the sampled one is a little wider: fewer origins, a higher
    conformal rank)."""
    n, steps = 1500, 400
    at, stride = sample_plan(n, steps, budget=100_000)
    assert at is not None and stride > 1
    zero = np.zeros(steps)
    cov_exact, cov_sampled, ratio = [], [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        shifts = np.where(rng.random(n + steps) < 1 / 300, rng.normal(0, 8, n + steps), 0.0)
        x = 20 + np.cumsum(shifts + rng.normal(0, 0.3, n + steps))
        y, fut = x[:n], x[n:]
        mean = np.full(steps, y[-1])
        kw = {"period": 0, "profile": None, "params": {"period_steps": 1}}
        exact = multi_step_errors("snaive", None, y, y, steps, **kw)
        sampled = multi_step_errors("snaive", None, y, y, steps, at=at, stride=stride, **kw)
        b0, a0, k0, _ = floor_half_widths(zero, zero, exact, 0.8, np.ones(steps))
        b1, a1, k1, _ = floor_half_widths(zero, zero, sampled, 0.8, np.ones(steps), at=at, stride=stride)
        assert k0 == k1 == steps
        cov_exact.append(np.mean((fut >= mean - b0) & (fut <= mean + a0)))
        cov_sampled.append(np.mean((fut >= mean - b1) & (fut <= mean + a1)))
        ratio.append(np.mean(a1 + b1) / np.mean(a0 + b0))
    assert abs(np.mean(cov_sampled) - np.mean(cov_exact)) < 0.02, (np.mean(cov_exact), np.mean(cov_sampled))
    assert 0.9 < np.median(ratio) < 1.1, np.median(ratio)


def test_the_evidence_weight_counts_the_span_of_sampled_origins():
    """Every 5th origin of 1,000 with a 10-step horizon covers the same 100 independent windows as all of
    them: where the empirical half-width is wider, the floor moves 100 / (100 + 4) of the way to it (not
    200 / 10 / (20 + 4), as if the sampled origins were all there was)."""
    rng = np.random.default_rng(0)
    errors = rng.normal(0, 2, (1000, 10))[::5]
    cal = np.ones(10)
    below, above, _, _ = floor_half_widths(cal, cal, errors, 0.8, np.ones(10), backtest_origins=4, stride=5)
    e_below, e_above, _ = empirical_half_widths(errors, 0.8)
    assert (e_above > cal).all() and (e_below > cal).all()
    w = 100 / 104
    np.testing.assert_allclose(above, cal + w * (e_above - cal))
    np.testing.assert_allclose(below, cal + w * (e_below - cal))
