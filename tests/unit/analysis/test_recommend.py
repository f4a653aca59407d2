"""recommend (alert tuning, scaling, optimization) and optimize (performance, cost) on synthetic series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from promv5_lab.analysis import optimize, recommend
from promv5_lab.errors import InputError

IDX = pd.date_range("2026-01-05", periods=3 * 1440, freq="1min", tz="UTC")
IDX5 = pd.date_range("2026-01-05", periods=3 * 288, freq="5min", tz="UTC")  # forecasts: fewer points, faster


def tidy(values: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = [pd.DataFrame({"timestamp": IDX, "value": v, "service": k}) for k, v in values.items()]
    return pd.concat(rows, ignore_index=True)


def daily(seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(len(IDX)) * 60.0
    return 100 + 60 * np.sin(2 * np.pi * t / 86400) + rng.standard_normal(len(IDX)) * 3


def test_alert_tuning_bands_escaping_and_replay():
    rng = np.random.default_rng(1)
    flat = 5 + rng.standard_normal(len(IDX))
    flat[2000:2030] = 40  # an incident: 30 min above
    evil = 'we"ird\\{{ $value }}'
    frame = tidy({"web": daily(), evil: flat})
    tuning = recommend.alertTuning({"sum by (service) (rate(x_total[5m]))": frame}, for_="5m")
    [rule] = tuning.rules
    assert rule.alert == "Promv5UnusualX"
    web = next(s for s in rule.series if s.labels["service"] == "web")
    other = next(s for s in rule.series if s.labels["service"] == evil)
    assert web.seasonal and len(web.bands) > 2 and not other.seasonal and len(other.bands) == 1
    # the band at the daily peak (06:00 UTC) is above the one at the trough (18:00)
    at = {h: next(b.value for b in web.bands if b.start_hour <= h < b.end_hour) for h in (6, 18)}
    assert at[6] > at[18] + 60
    # the incident fires once (30 min > for 5m), nothing else does
    assert other.alerts_per_day == pytest.approx(1 / 3) and 0.005 < other.firing_fraction < 0.008
    assert web.alerts_per_day == 0
    doc = yaml.safe_load(tuning.to_yaml())
    r = doc["groups"][0]["rules"][0]
    assert r["for"] == "5m" and "on(service)" in r["expr"]
    assert '"we\\"ird\\\\{{ $value }}"' in r["expr"]  # a PromQL string literal, escaped
    assert '{{ "{{" }}' not in r["annotations"]["summary"] and "$labels" in r["annotations"]["summary"]
    with pytest.raises(InputError):
        recommend.alert_tuning({}, for_="1m")
    with pytest.raises(InputError, match="valid Prometheus name"):
        recommend.alert_tuning({"q": frame}, names=["bad name"])


def test_annotation_templates_in_the_query_are_made_literal():
    frame = tidy({"a": daily()})
    tuning = recommend.alert_tuning({'x{job="{{ evil }}"}': frame})
    promql = tuning.rules[0].annotations["promql"]
    assert promql == 'x{job="{{ "{{" }} evil {{ "}}" }}"}'


def test_scaling_and_optimization():
    util = pd.Series(0.3 + 0.2 * np.sin(2 * np.pi * np.arange(len(IDX5)) * 300 / 86400), index=IDX5)
    advice = recommend.scaling(util, replicas=4, target=0.6, horizon="1d")
    # the peak utilisation is ~0.5 at 4 replicas: 2 replica-capacities of demand, over 0.6 -> 4 replicas
    assert 0.45 < advice.peak_utilisation < 0.6 and advice.recommended_replicas == 4
    hot = recommend.scaling(util * 1.8, replicas=4, target=0.6, horizon="1d")
    assert hot.recommended_replicas in (6, 7) and "scale out" in hot.describe()
    usage = pd.DataFrame({"cart": np.full(100, 100.0), "web": np.full(100, 900.0)}, index=IDX[:100])
    found = recommend.optimization(usage, {"cart": 1000.0, "web": 1000.0})
    assert [o.resource for o in found] == ["cart"] and found[0].recommended == pytest.approx(100 / 0.7)
    with pytest.raises(InputError, match="no allocation"):
        recommend.optimization(usage, {"cart": 1.0})


def test_performance_and_cost_plans():
    load = pd.Series(daily()[::5], index=IDX5)  # peaks near 160 rps
    w = optimize.Workload("web", load, capacity_per_replica=50.0, replicas=2, service_time_s=0.02)
    plan = optimize.performance(optimize.SLO(latency_s=0.1), [w], horizon="1d")
    [item] = plan.items
    # latency 0.1 s with 0.02 s service time: utilisation ceiling 0.8 (M/M/1); ~170 rps / (50 x 0.8) -> 5
    assert item.ceiling == pytest.approx(0.7)  # max_utilisation 0.7 is the tighter ceiling
    assert item.replicas == 5 and item.utilisation_at_peak <= 0.7
    cheap = optimize.cost(10.0, [w], [optimize.InstanceType("small", 1.0), optimize.InstanceType("large", 1.5, 2.0)],
                          slo=optimize.SLO(max_utilisation=0.8), horizon="1d")
    assert cheap.items[0].instance == "large" and cheap.items[0].replicas == 3 and cheap.feasible
    tight = optimize.cost(1.0, [w], {"small": 1.0}, horizon="1d")
    assert not tight.feasible and "No plan meets the SLO" in tight.describe()
    with pytest.raises(InputError, match="below the service time"):
        optimize.performance(optimize.SLO(latency_s=0.01), [w], horizon="1d")
