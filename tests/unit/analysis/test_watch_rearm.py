"""``Watcher`` re-arms a series after an episode: a second, smaller fault soon after a big one is reported.

The backend is the embedded PromQL engine over an in-memory store (1 s samples) and the watcher's clock is
driven by the test, so the live loop runs in seconds; the live end-to-end test is
``tests/integration/test_watch_live.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from promv5_lab.analysis.detect import DetectorConfig, StreamingDetector
from promv5_lab.analysis.watch import Watcher, watch_config
from promv5_lab.backends.embedded.backend import EmbeddedBackend
from promv5_lab.backends.embedded.storage import Store

T0 = 1_800_000_000.0
N = 700
BIG = (300, 330)     # pool exhausted: 0.95 in use
SMALL = (390, 420)   # 60 s after the first one cleared: 0.30 in use


def _values(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = 0.05 + rng.normal(0, 0.005, N)
    v[BIG[0]:BIG[1]] = 0.95 + rng.normal(0, 0.01, BIG[1] - BIG[0])
    v[SMALL[0]:SMALL[1]] = 0.30 + rng.normal(0, 0.01, SMALL[1] - SMALL[0])
    return v


def _backend(v: np.ndarray) -> EmbeddedBackend:
    ts = ((T0 + np.arange(N)) * 1000).astype(np.int64)
    store = Store.from_columns([{"__name__": "pool_use", "service": "checkout"}], np.zeros(N, dtype=np.int64), ts, v)
    return EmbeddedBackend(store)


def _run(rearm: bool, monkeypatch) -> list:
    if not rearm:
        monkeypatch.setattr(StreamingDetector, "end_episode", lambda self: None)
    now = {"t": T0 + 120}
    w = Watcher(_backend(_values()), ["pool_use"], interval_s=1.0, history_s=110.0,
                config=watch_config(1.0, warmup=20), clock=lambda: now["t"])
    w.warm_up()
    events = []
    while now["t"] < T0 + N - 1:
        now["t"] += 10.0  # a poll every 10 s: each evaluates the 10 new grid points in order
        events += w.poll()
    return [int(ev.sample_time.timestamp() - T0) for ev in events]


def test_a_second_smaller_fault_after_a_big_one_is_reported(monkeypatch):
    starts = _run(True, monkeypatch)
    assert any(BIG[0] <= s <= BIG[0] + 3 for s in starts), starts
    assert any(SMALL[0] <= s <= SMALL[0] + 3 for s in starts), starts
    # nothing else: not while healthy, and the return to normal is not an anomaly (the old state is back)
    assert len(starts) == 2, starts


def test_without_re_arming_the_second_fault_is_missed(monkeypatch):
    """The control: the same run with ``end_episode`` switched off misses the smaller fault."""
    monkeypatch.setattr(StreamingDetector, "begin_episode", lambda self: None)
    starts = _run(False, monkeypatch)
    assert any(BIG[0] <= s <= BIG[0] + 3 for s in starts), starts
    assert not any(SMALL[0] <= s <= SMALL[0] + 3 for s in starts), starts


def test_episode_bookkeeping_is_per_series():
    from promv5_lab.analysis.detect import DetectorState

    cfg = DetectorConfig(season_s=0.0, warmup=5)
    st = DetectorState(2, cfg)
    for i in range(60):
        st.step(float(i), np.array([1.0 + 0.01 * (i % 3), 1.0 + 0.01 * (i % 3)]))
    before = {k: getattr(st, k).copy() for k in ("peak", "scale", "mean")}
    st.begin_episode(np.array([True, False]))
    for i in range(60, 80):
        st.step(float(i), np.array([50.0, 50.0]))  # both jump; only series 0 is "in an episode"
    assert st.peak[0] > before["peak"][0] and st.scale[0] > 10 * before["scale"][0]
    st.end_episode()  # series 0: the peak of before; series 1 had no open episode: left alone
    assert st.peak[0] <= before["peak"][0] + 1e-9
    assert st.peak[1] > 2 * before["peak"][1]
    back = st.step(80.0, np.array([1.01, 1.01]))  # both come back
    assert st.mean[0] == pytest.approx(before["mean"][0], rel=0.01)  # restored, then one normal update
    assert st.scale[0] < 2 * before["scale"][0]
    assert back[0] < 0.5 <= back[1]  # the return is normal for series 0, a surprise for series 1
    assert not st.ep_open.any()


def test_the_watcher_says_which_series_are_still_learning():
    now = T0 + 120

    def watcher(warmup: int) -> Watcher:
        w = Watcher(_backend(_values()), ["pool_use"], interval_s=1.0, history_s=100.0,
                    config=watch_config(1.0, warmup=warmup), clock=lambda: now)
        w.warm_up()
        return w

    assert watcher(20).learning_note() == ""
    w = watcher(300)
    seen = 300 - next(iter(w.learning().values()))
    assert 95 <= seen <= 101  # the 100 s of history were learned from
    assert w.learning_note() == f"1 of 1 series still learning, up to {300 - seen} samples ({300 - seen:g} s) " \
                                "to go before they can alarm"


def test_a_fault_that_follows_a_blip_inside_its_episode_is_reported_as_an_escalation():
    """A one-sample blip opens an episode; the real fault starts before the episode's quiet period ends. The
    fault must still be reported (as an escalation of the episode), and a steady fault is not re-reported."""
    rng = np.random.default_rng(3)
    v = 0.05 + rng.normal(0, 0.003, N)
    v[300] = 0.09                       # the blip
    v[302:360] = 0.60 + rng.normal(0, 0.005, 58)  # the fault, 2 s later, inside the blip's episode
    now = {"t": T0 + 120}
    w = Watcher(_backend(v), ["pool_use"], interval_s=1.0, history_s=110.0,
                config=watch_config(1.0, warmup=20), clock=lambda: now["t"])
    w.warm_up()
    events = []
    while now["t"] < T0 + N - 1:
        now["t"] += 10.0
        events += w.poll()
    at = [(int(e.sample_time.timestamp() - T0), e.extra.get("escalation")) for e in events]
    fault = [e for e in events if 302 <= e.sample_time.timestamp() - T0 <= 305]
    assert fault and fault[0].value > 0.5, at
    assert len([e for e in events if 306 <= e.sample_time.timestamp() - T0 < 360]) == 0, at  # steady: once
    assert at[0] == (300, None), at  # the blip opened the episode
    assert fault[0].extra["escalation"] == 1 and fault[0].extra["deviation"] > 3 * fault[0].extra["deviation_before"]
