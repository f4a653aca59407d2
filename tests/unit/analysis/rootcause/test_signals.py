"""Golden signals found from a catalogue by conventions (no demo names), onsets and change events."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from promv5_lab.analysis.rootcause.signals import change_events, discover, measure, service_label
from promv5_lab.nl.catalogue import Catalogue
from promv5_lab.types import MetricMetadata, Provenance, QueryResult

AT = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def catalogue(label: str = "job") -> Catalogue:
    names = ["api_requests_total", "rpc_server_handling_seconds_bucket", "rpc_server_handling_seconds_sum",
             "rpc_server_handling_seconds_count", "worker_pool_in_use", "worker_pool_max",
             "process_resident_memory_bytes", "app_build_info", "process_start_time_seconds",
             "lookup_cache_hits_total", "lookup_cache_misses_total", "node_filesystem_avail_bytes",
             "node_filesystem_size_bytes", "up"]
    meta = {"api_requests": MetricMetadata("api_requests", "counter", "Requests handled."),
            "worker_pool_in_use": MetricMetadata("worker_pool_in_use", "gauge", "Workers busy."),
            "worker_pool_max": MetricMetadata("worker_pool_max", "gauge", "Workers."),
            "app_build_info": MetricMetadata("app_build_info", "gauge", "Build.")}
    svc = (label, "instance")
    labels = {n: svc for n in names}
    labels["api_requests_total"] = (*svc, "status_code")
    labels["rpc_server_handling_seconds_bucket"] = (*svc, "le")
    labels["app_build_info"] = (*svc, "version")
    labels["node_filesystem_avail_bytes"] = labels["node_filesystem_size_bytes"] = ("instance", "mountpoint")
    labels["up"] = ("job", "instance")
    return Catalogue.build(names, meta, labels, {})


def test_signals_key_on_conventions_and_the_service_label():
    cat = catalogue("job")
    assert service_label(cat) == "job"
    specs = {s.role: s for s in discover(cat)}
    assert specs["requests"].promql == "sum by (job) (rate(api_requests_total[5m]))"
    assert 'status_code=~"5.."' in specs["error_ratio"].promql
    assert specs["latency"].promql.startswith("histogram_quantile(0.9, sum by (job, le) (rate(rpc_server_handling")
    assert specs["pool"].promql == "max by (job) (worker_pool_in_use / worker_pool_max)"
    assert specs["memory"].golden == "saturation"
    assert "lookup_cache_misses_total" in specs["cache_miss"].promql
    assert specs["disk_free"].host_level and specs["disk_free"].direction == -1
    assert service_label(catalogue("service")) == "service"


class FakeBackend:
    """A MetricsBackend answering the few queries of these tests from arrays (no server needed for this)."""

    name = "fake"

    def __init__(self, series: dict[str, dict[str, np.ndarray]], t: pd.DatetimeIndex) -> None:
        self.series, self.t = series, t

    def query_range(self, promql, time_range):
        rows = []
        for key, per in self.series.items():
            if key in promql:
                for labels, v in per.items():
                    lab = dict(x.split("=") for x in labels.split(","))
                    mask = (self.t >= time_range.start) & (self.t <= time_range.end)
                    rows.append(pd.DataFrame({"timestamp": self.t[mask], "value": v[mask], **lab}))
        fr = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["timestamp", "value"])
        return QueryResult(fr, "matrix", Provenance(promql, "fake", "range", range=time_range))


def test_measure_finds_the_onset_and_leaves_noise_alone():
    t = pd.date_range(AT - timedelta(hours=8), AT, freq="60s", tz="UTC")
    rng = np.random.default_rng(0)
    onset = AT - timedelta(minutes=40)
    step_up = np.where(t >= onset, 5.0, 1.0) + rng.normal(0, 0.05, len(t))
    noise = 1.0 + rng.normal(0, 0.05, len(t))
    be = FakeBackend({"rpc_server_handling": {"job=api": step_up, "job=db": noise}}, t)
    specs = [s for s in discover(catalogue()) if s.role == "latency"]
    stats, failed = measure(be, specs, AT, lookback_s=8 * 3600, window_s=2 * 3600, step_s=60)
    assert not failed
    by = {s.entity: s for s in stats}
    assert by["api"].abnormal and not by["db"].abnormal
    assert by["api"].ratio == pytest.approx(5.0, rel=0.05)
    assert abs((by["api"].onset - onset).total_seconds()) <= 120
    assert by["db"].onset is None


def test_change_events_from_build_info_and_start_time():
    t = pd.date_range(AT - timedelta(hours=8), AT, freq="60s", tz="UTC")
    deploy = AT - timedelta(minutes=30)
    new = (t >= deploy)
    start = np.where(new, deploy.timestamp(), (AT - timedelta(days=3)).timestamp())
    be = FakeBackend({"app_build_info": {"job=api,version=1.0": np.where(new, np.nan, 1.0),
                                         "job=api,version=1.1": np.where(new, 1.0, np.nan)},
                      "process_start_time_seconds": {"job=api": start},
                      "up": {"job=api,instance=h:1": np.where(t == deploy, 0.0, 1.0)}}, t)
    events = change_events(_NoNan(be), catalogue(), AT, lookback_s=8 * 3600, step_s=60)
    kinds = {(e.kind, e.service) for e in events}
    assert kinds == {("version", "api"), ("restart", "api"), ("down", "api")}
    v = next(e for e in events if e.kind == "version")
    assert v.at == deploy and "1.0 -> 1.1" in v.summary


class _NoNan:
    """Drops NaN samples, as a real backend returns only present samples."""

    def __init__(self, be):
        self.be = be

    def query_range(self, promql, time_range):
        res = self.be.query_range(promql, time_range)
        return QueryResult(res.frame.dropna(subset=["value"]), res.result_type, res.provenance)
