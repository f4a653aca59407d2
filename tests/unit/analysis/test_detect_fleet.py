"""The fleet detector settings (``FLEET_CONFIG``): the peak learned during warm-up, the interpolated
seasonal profile, and the "learning, N samples to go" note."""

from __future__ import annotations

import numpy as np
import pandas as pd

from promv5_lab.analysis.detect import FLEET_CONFIG, DetectorConfig, score_arrays
from promv5_lab.analysis.learn import DEFAULT_FLOOR as FLAG
from promv5_lab.analysis.learn import detect, learning_note

STEP = 60.0
T0 = 1_700_000_000.0 - (1_700_000_000.0 % 86400)


def _sparse(n: int, seed: int = 0) -> np.ndarray:
    """A pool-use ratio that is 0 most of the time and one connection (1/30) about one sample in 12."""
    rng = np.random.default_rng(seed)
    return (rng.random(n) < 1 / 12) / 30.0


def test_a_series_that_spikes_all_the_time_is_quiet_right_after_warm_up():
    n = 600
    v = _sparse(n)
    t = T0 + STEP * np.arange(n)
    fleet = score_arrays(t, v, FLEET_CONFIG)[:, 0]
    old = score_arrays(t, v, DetectorConfig(season_interp=True))[:, 0]
    w = FLEET_CONFIG.warmup
    assert np.all(fleet[:w] == 0.0)  # learning: never scored
    assert fleet[w:w + 240].max() < FLAG  # its usual one-connection blips are not records
    assert old[w:w + 240].max() >= FLAG  # without the learned peak they were (the demo's first-day alarms)
    v2 = v.copy()
    v2[500:510] = 0.9  # the pool runs full: still a record
    assert score_arrays(t, v2, FLEET_CONFIG)[500:510, 0].max() >= FLAG


def _daily(n: int, seed: int, step: float = 300.0) -> tuple[np.ndarray, np.ndarray]:
    t = T0 + step * np.arange(n)
    rng = np.random.default_rng(seed)
    v = 100 + 30 * np.sin(2 * np.pi * (t % 86400) / 86400) + rng.normal(0, 0.3, n)
    return t, v


def test_the_interpolated_profile_has_no_steps_at_slot_boundaries():
    day = 288  # 5-minute samples: 6 per profile slot
    n = day * 4
    t, v = _daily(n, 1)
    interp = score_arrays(t, v, FLEET_CONFIG)[:, 0]
    steps = score_arrays(t, v, DetectorConfig(learn_peak=True))[:, 0]
    day3 = slice(day * 2, n)
    boundary = (t[day3] % 1800) == 0  # every 30 min: 48 slots a day
    assert interp[day3].max() < FLAG
    # the stepwise profile is most surprised right at its slot boundaries; the interpolated one is not
    assert steps[day3][boundary].mean() > 1.25 * steps[day3][~boundary].mean()
    assert interp[day3][boundary].mean() < 1.1 * interp[day3][~boundary].mean()
    v2 = v.copy()
    v2[day * 3 + 140] += 8  # a 25-sigma spike on day 4 is still found
    assert score_arrays(t, v2, FLEET_CONFIG)[day * 3 + 140, 0] >= FLAG


def test_detect_says_which_series_are_still_learning():
    idx = pd.date_range("2026-01-01", periods=300, freq="1min", tz="UTC")
    rng = np.random.default_rng(3)
    wide = pd.DataFrame({"old": 10 + rng.standard_normal(300), "new": np.nan}, index=idx)
    wide.iloc[250:, 1] = 5 + rng.standard_normal(50)  # started reporting 50 samples ago
    res = detect(wide, progress=False)
    assert res.params["learning"] == {"new": FLEET_CONFIG.warmup - 50}
    assert learning_note(res) == f"new: learning, {FLEET_CONFIG.warmup - 50} samples to go (no alarms before that)"
    assert not res.flags["new"].any()
    both = detect(wide.iloc[:100], progress=False)
    assert learning_note(both).startswith("2 series still learning, up to")
    assert learning_note(detect(wide.iloc[:, :1], progress=False)) == ""


def test_an_incident_at_the_same_time_of_day_two_days_later_is_not_a_scheduled_event():
    """Only the day before or a week before makes an episode recurring (the demo's seed 4 had two cache
    failures at 19:48 and 19:51 two days apart; the second one was hidden as 'recurring')."""
    from datetime import datetime, timedelta, timezone

    from promv5_lab.analysis.learn import _drop_recurring
    from promv5_lab.analysis.results import Anomaly

    t0 = datetime(2026, 11, 15, 19, 48, tzinfo=timezone.utc)

    def ep(t):
        return Anomaly("s", t, t, 0.9, t, 0.7, 1)

    eps = (ep(t0), ep(t0 + timedelta(days=2, minutes=3)), ep(t0 + timedelta(days=3, minutes=-4)),
           ep(t0 + timedelta(days=9, minutes=2)))
    kept, dropped = _drop_recurring(eps, 7, 900.0)
    # 2 days later: reported; the day after that one: recurring; 7 days after the second: recurring
    assert [a.start for a in kept] == [t0, t0 + timedelta(days=2, minutes=3)]
    assert len(dropped) == 2
    assert _drop_recurring(eps, 7, 900.0, lags_days=(1, 2, 3, 4, 5, 6, 7))[0] == (eps[0],)
