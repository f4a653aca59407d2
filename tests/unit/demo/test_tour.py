"""Pieces of ``promv5-lab demo``: the terminal chart, series names, when it looks, and the dry-run policies
(tour_policies.yaml) evaluated on diagnoses of every incident kind."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from promv5_lab.demo import tour_steps
from promv5_lab.demo.termchart import BARS, chart, sparkline
from promv5_lab.demo.tour import found_at
from promv5_lab.types import Diagnosis, RootCause, TimeRange

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)


def test_sparkline_scales_min_to_max_and_shows_gaps():
    line = sparkline([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], width=8)
    assert line == BARS
    assert sparkline([1.0, math.nan, 3.0], width=3) == f"{BARS[0]} {BARS[-1]}"
    assert sparkline([5.0, 5.0], width=4) == BARS[0] * 2  # flat: the lowest bar, no division by zero
    assert sparkline([math.nan] * 3, width=3) == "   "
    # more points than columns: means of equal slices (a spike in the last slice lands in the last column)
    squeezed = sparkline(np.r_[np.zeros(90), np.full(10, 9.0)], width=10)
    assert len(squeezed) == 10 and squeezed[-1] == BARS[-1] and set(squeezed[:-1]) == {BARS[0]}
    with pytest.raises(ValueError):
        sparkline([1.0], width=0)


def test_chart_marks_the_window_under_the_line():
    t = pd.date_range(T0, periods=120, freq="1min", tz="UTC")
    v = np.where((t >= T0 + timedelta(minutes=60)) & (t < T0 + timedelta(minutes=90)), 1.0, 0.01)
    line, axis = chart(pd.DataFrame({"timestamp": t, "value": v}), window=(t[60], t[90]), width=60)
    assert line.endswith("0.01 .. 1")
    assert axis.startswith("03:00") and axis.rstrip().endswith("04:59")
    a, b = axis.index("└"), axis.index("┘")
    assert (a, b) == (30, 45) and "incident" in axis[a:b]
    assert set(line[a + 1:b]) == {BARS[-1]} and line[a - 1] == BARS[0]
    assert chart(pd.DataFrame({"timestamp": [], "value": []})) == ["(no data)"]


def test_short_series_keeps_the_labels_a_reader_needs():
    name = 'http_request_duration_seconds{instance="node-1:8080",job="frontend",route="/product/{id}",service="frontend"}'
    assert tour_steps.short_series(name) == 'http_request_duration_seconds{route="/product/{id}",service="frontend"}'
    assert tour_steps.short_series("up") == "up"
    assert tour_steps.short_series('up{instance="x"}') == "up"
    assert tour_steps.short_series('up{instance="node-2:8083",job="checkout"}') == 'up{job="checkout"}'


def test_the_tour_looks_in_the_middle_of_the_incident():
    class Inc:
        start, end = T0, T0 + timedelta(minutes=44)

    assert found_at(Inc) == T0 + timedelta(minutes=22)


def _diagnosis(*causes: tuple[str, str, float]) -> Diagnosis:
    return Diagnosis(T0, TimeRange(T0 - timedelta(hours=2), T0),
                     tuple(RootCause(s, k, c) for s, k, c in causes))  # type: ignore[arg-type]


@pytest.mark.parametrize("service, kind, policy, action", [
    ("catalog", "deploy", "rollback-bad-deploy", "rollback"),
    ("checkout", "resource_exhaustion", "restart-exhausted-service", "restart"),
    ("postgres", "resource_exhaustion", "clear-database-disk", "clear_disk"),
    ("redis", "dependency_failure", "flush-poisoned-cache", "flush_cache"),
    ("frontend", "traffic", "scale-out-on-surge", "scale"),
])
def test_every_incident_kind_gets_one_dry_run_proposal(tmp_path, service, kind, policy, action):
    d = _diagnosis((service, kind, 0.8), ("payments", "unknown", 0.05))
    p = tour_steps.propose(None, d, T0, tmp_path / "audit.db", admin_url="http://127.0.0.1:1")
    assert [i.policy for i in p.issues] == [policy] and p.issues[0].target == service
    (out,) = p.outcomes
    assert out.status == "dry_run" and len(out.calls) == 1
    assert f'"action": "{action}"' in out.calls[0] and f'"service": "{service}"' in out.calls[0]
    assert out.calls[0].startswith("demo: POST http://127.0.0.1:1/admin/actions")
    if service == "postgres":  # the restart policy saw postgres but may not act on it
        assert any(r.policy == "restart-exhausted-service" and r.label_value == "postgres" for r in p.refused)
    lines = tour_steps.proposal_lines(p, type("Inc", (), {"remediation": action, "root_cause_service": service}))
    assert any("nothing was executed" in ln for ln in lines)


def test_a_weak_or_unknown_cause_proposes_nothing(tmp_path):
    p = tour_steps.propose(None, _diagnosis(("catalog", "deploy", 0.2), ("cart", "unknown", 0.7)), T0,
                           tmp_path / "audit.db")
    assert p.issues == () and p.outcomes == ()
    lines = tour_steps.proposal_lines(p, type("Inc", (), {"remediation": "rollback", "root_cause_service": "catalog"}))
    assert lines == ["  No policy of tour_policies.yaml fires on this diagnosis: nothing to propose."]
