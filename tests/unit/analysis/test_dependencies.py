"""learn.dependencies on synthetic series with a known lead, lag and no-link; the Granger test vs statsmodels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from promv5_lab.analysis import learn
from promv5_lab.analysis.dependencies import granger_p
from promv5_lab.errors import InputError

N = 3000
IDX = pd.date_range("2026-01-05", periods=N, freq="1min", tz="UTC")


def frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(N) * 60.0
    wave = 20 * np.sin(2 * np.pi * t / 3600)  # an hourly cycle every series shares: must not link them
    shocks = np.cumsum(rng.standard_normal(N))  # a random walk: the driver
    db = shocks + wave + 0.3 * rng.standard_normal(N)
    app = np.r_[np.zeros(3), shocks[:-3]] * 0.8 + wave + 0.3 * rng.standard_normal(N)  # follows db by 3 min
    other = np.cumsum(rng.standard_normal(N)) + wave  # its own walk, same cycle
    return pd.DataFrame({"db": db, "app": app, "other": other}, index=IDX)


def test_a_follower_is_found_with_its_lag_and_direction():
    deps = learn.dependencies(frame())
    edge = deps.between("db", "app")
    assert edge is not None and edge.direction == "leads"
    assert (edge.source, edge.target, edge.lag_s) == ("db", "app", 180.0)
    assert edge.correlation > 0.7 and edge.p_value < 1e-10 and edge.p_reverse > edge.p_value
    assert [e.source for e in deps.leaders_of("app")] == ["db"]
    assert deps.followers_of("db")[0].target == "app"
    assert "app follows db 180 s later" in edge.describe()
    # the shared hourly cycle alone does not make an edge
    assert deps.between("other", "db") is None and deps.between("other", "app") is None


def test_granger_p_equals_statsmodels():
    from statsmodels.tsa.stattools import grangercausalitytests

    rng = np.random.default_rng(3)
    x = rng.standard_normal(500)
    y = 0.4 * np.r_[0.0, 0.0, x[:-2]] + rng.standard_normal(500)
    for cause, effect in ((x, y), (y, x)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = grangercausalitytests(np.column_stack([effect, cause]), maxlag=3)
        expected = min(r[0]["ssr_ftest"][1] for r in ref.values())
        assert granger_p(cause, effect, 3) == pytest.approx(expected, rel=1e-6, abs=1e-300)


def test_bad_input_is_a_clear_error():
    with pytest.raises(InputError, match="at least two"):
        learn.dependencies(frame()[["db"]])
    short = frame().iloc[:30]
    short.index.freq = IDX.freq
    with pytest.raises(InputError, match="too few"):
        learn.dependencies(short)
