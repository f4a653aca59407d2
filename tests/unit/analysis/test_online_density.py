"""The spike-density member of the online ensemble (promv5_lab/analysis/online_density.py)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from promv5_lab.analysis.online import NAB_THRESHOLD, OnlineConfig, score_series
from promv5_lab.analysis.online_density import DensityConfig, binomial_tail, density_scores
from promv5_lab.errors import InputError


def _spikes(n: int, rate_before: float, rate_after: float, start: int, seed: int) -> np.ndarray:
    """z of 0 with spikes of 5 sigmas at ``rate_before``, then ``rate_after`` from row ``start``."""
    rng = np.random.default_rng(seed)
    rate = np.where(np.arange(n) < start, rate_before, rate_after)
    return np.where(rng.random(n) < rate, 5.0, 0.0)


@pytest.mark.parametrize(("k", "n", "p"), [(1, 10, 0.1), (3, 24, 0.02), (24, 24, 0.5), (5, 20, 0.3)])
def test_binomial_tail_matches_the_sum_of_its_terms_from_the_other_side(k, n, p):
    below = sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(k))
    assert binomial_tail(k, n, p) == pytest.approx(1.0 - below, rel=1e-12, abs=1e-15)


def test_binomial_tail_edges():
    assert binomial_tail(0, 24, 0.1) == 1.0
    assert binomial_tail(25, 24, 0.1) == 0.0
    assert binomial_tail(1, 24, 0.1) == pytest.approx(1.0 - 0.9 ** 24)


def test_a_rise_in_spike_density_reports_once_and_a_steady_rate_never():
    n, start = 3000, 2000
    cfg = DensityConfig()
    steady = density_scores(_spikes(n, 0.02, 0.02, start, seed=1), np.ones(n, bool), cfg, report=0.4)
    assert steady.max() < 0.4
    rising = density_scores(_spikes(n, 0.02, 0.5, start, seed=1), np.ones(n, bool), cfg, report=0.4)
    reports = np.flatnonzero(rising >= 0.4)
    assert reports.size == 1  # one event, not one flag per row the record grows by
    assert start <= reports[0] < start + cfg.window
    assert rising[reports[0] + 1:].max() == 0.0  # silent while the density stays high


def test_density_of_its_own_past_is_no_news():
    # a series whose spikes have always come in dense clusters: its record is already high
    n = 4000
    z = np.zeros(n)
    for a in range(400, n, 500):
        z[a:a + 15] = 5.0
    s = density_scores(z, np.ones(n, bool), DensityConfig(), report=0.4)
    assert (s >= 0.4).sum() <= 1  # at most the first cluster after warm-up is news


def test_missing_rows_are_not_spikes_and_nothing_scores_before_min_rows():
    n = 1000
    z = np.full(n, 5.0)
    present = np.zeros(n, bool)
    assert density_scores(z, present, DensityConfig()).max() == 0.0
    z2 = _spikes(n, 0.0, 1.0, 100, seed=2)
    assert density_scores(z2, np.ones(n, bool), DensityConfig(min_rows=2000)).max() == 0.0


def test_changing_future_values_never_changes_past_scores():
    z = _spikes(2500, 0.02, 0.4, 1500, seed=3)
    ok = np.ones(z.size, bool)
    full = density_scores(z, ok, report=0.4)
    for cut in (1400, 1510, 1700):
        z2 = z.copy()
        z2[cut:] = 5.0 - z2[cut:]
        assert np.array_equal(density_scores(z2, ok, report=0.4)[:cut], full[:cut])


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_the_ensemble_reports_a_denser_stream_of_spikes_that_it_missed_without_the_member(seed):
    rng = np.random.default_rng(seed)
    n, start = 3000, 2200
    t = 1.4e9 + 300.0 * np.arange(n)
    noise = rng.normal(0.0, 1.0, n)
    spike = rng.random(n) < np.where(np.arange(n) < start, 0.01, 0.5)
    v = 50.0 + noise + np.where(spike, 6.0, 0.0)  # spikes of a height seen all along
    on = score_series(t, v) >= NAB_THRESHOLD
    off = score_series(t, v, dataclasses.replace(OnlineConfig(), density=None)) >= NAB_THRESHOLD
    assert np.array_equal(on[:start], off[:start])  # the same reports while the rate is the usual one
    assert not off[start:start + 48].any()
    assert on[start:start + 48].sum() == 1


@pytest.mark.parametrize("bad", [{"window": 0}, {"lag": 0}, {"prior_rate": 0.0}, {"floor": 0.0},
                                 {"weight": 1.5}, {"min_rows": 0}])
def test_bad_settings_are_input_errors(bad):
    with pytest.raises(InputError):
        DensityConfig(**bad)


def test_shapes_must_match():
    with pytest.raises(InputError):
        density_scores(np.zeros(5), np.ones(4, bool))


def test_detect_command_runs_it_unless_told_not_to(tmp_path, analysis_cli):
    import csv

    from typer.testing import CliRunner

    app = analysis_cli

    rng = np.random.default_rng(1)  # the series of the seed-1 case above
    n, start = 3000, 2200
    noise = rng.normal(0.0, 1.0, n)
    spike = rng.random(n) < np.where(np.arange(n) < start, 0.01, 0.5)
    v = 50.0 + noise + np.where(spike, 6.0, 0.0)
    src = tmp_path / "in.csv"
    src.write_text("timestamp,value\n" + "".join(f"{1.4e9 + 300.0 * i:.0f},{x!r}\n" for i, x in enumerate(v.tolist())))
    flags = {}
    for opt in ([], ["--no-density"]):
        out = tmp_path / "out.csv"
        res = CliRunner().invoke(app, ["detect", str(src), "--out", str(out), *opt])
        assert res.exit_code == 0, res.output
        flags[bool(opt)] = np.array([int(r["is_anomaly"]) for r in csv.DictReader(out.open())])
    assert flags[False][start:start + 48].sum() == 1
    assert flags[True][start:start + 48].sum() == 0
