"""Incidents show in the generated numbers themselves, and logs/traces agree with them."""

import json
from collections import Counter

import numpy as np
import pytest

from promv5_lab.demo.world import WORLD
from promv5_lab.types import as_utc

from .omparse import increase

STEP = 120


def _windows(history, kind):
    incs = [i for i in history.summary.incidents if i.type == kind]
    assert incs, f"no {kind} in the fixture history"
    return incs


def _in(ts, inc, lag=0.0):
    return (ts >= inc.start.timestamp() + lag) & (ts <= inc.end.timestamp())


def _before(ts, inc):
    a = inc.start.timestamp()
    return (ts >= a - 3 * 3600) & (ts < a - 600)


def _ratio_5xx(om, service, route=None):
    tot = bad = 0
    for d, ts, vs in om.select("http_requests_total", service=service):
        if route and d["route"] != route:
            continue
        inc = increase(ts, vs)
        tot = tot + inc
        if d["code"].startswith("5"):
            bad = bad + inc
    return ts, bad / np.maximum(tot, 1)


def _p90(om, service, route=None):
    acc: dict[float, np.ndarray] = {}
    for d, ts, vs in om.select("http_request_duration_seconds_bucket", service=service):
        if route and d["route"] != route:
            continue
        acc[float(d["le"])] = acc.get(float(d["le"]), 0) + increase(ts, vs)
    les = sorted(acc)
    m = np.stack([acc[le] for le in les], axis=1).astype(float)
    frac = m / np.maximum(m[:, -1:], 1)
    return ts, np.asarray(les)[(frac >= 0.9).argmax(axis=1)]


def _rate(om, name, **match):
    tot = 0
    for d, ts, vs in om.select(name, **match):
        tot = tot + increase(ts, vs) / STEP
    return ts, tot


def test_every_type_in_fixture(history):
    assert {i.type for i in history.summary.incidents} == {
        "bad_deploy", "memory_leak", "disk_fill", "db_pool_exhaustion", "cache_failure", "traffic_surge"}


def test_db_pool_exhaustion_cascades_5xx_upstream(history):
    om = history.om
    for inc in _windows(history, "db_pool_exhaustion"):
        svc = inc.root_cause_service
        ts, use = om.one("db_connections_in_use", service=svc)
        _, mx = om.one("db_connections_max", service=svc)
        assert (use / mx)[_in(ts, inc)].max() >= 0.9 > (use / mx)[_before(ts, inc)].max()
        for s, route in ((svc, None), ("frontend", "/checkout")):
            ts, r = _ratio_5xx(om, s, route)
            during, base = r[_in(ts, inc, 600)].mean(), r[_before(ts, inc)].mean()
            assert during > 0.2 and during > 10 * base, (s, during, base)
        _, ok = om.one("db_queries_total", service=svc, status="error")
        assert increase(ts, ok)[_in(ts, inc)].sum() > 10 * max(increase(ts, ok)[_before(ts, inc)].sum(), 1)


def test_cache_failure_moves_misses_db_load_and_latency(history):
    om = history.om
    for inc in _windows(history, "cache_failure"):
        ts, h = _rate(om, "cache_hits_total")
        _, m = _rate(om, "cache_misses_total")
        miss = m / np.maximum(h + m, 1e-9)
        assert miss[_in(ts, inc, 300)].mean() > 0.5 > 0.15 > miss[_before(ts, inc)].mean()
        _, q = _rate(om, "db_queries_total", service="catalog")
        assert q[_in(ts, inc, 300)].mean() > 3 * q[_before(ts, inc)].mean()
        _, s = _rate(om, "db_query_duration_seconds_sum")
        _, c = _rate(om, "db_query_duration_seconds_count")
        lat = s / np.maximum(c, 1e-9)
        assert lat[_in(ts, inc, 300)].mean() > 1.5 * lat[_before(ts, inc)].mean()


def test_disk_fill_drains_the_filesystem_and_fails_writes(history):
    om = history.om
    for inc in _windows(history, "disk_fill"):
        node = WORLD.node(inc.node)
        fs = node.filesystems[-1]
        ts, avail = om.one("node_filesystem_avail_bytes", instance=node.instance, mountpoint=fs.mountpoint)
        frac = avail / fs.size_bytes
        assert frac[_before(ts, inc)].min() > 0.3 and frac[_in(ts, inc)].min() < 0.02
        assert np.all(np.diff(frac[_in(ts, inc)]) <= 0)  # only falls while it fills
        ts, r = _ratio_5xx(om, "checkout")
        assert r[_in(ts, inc)].max() > 0.2 > 0.05 > r[_before(ts, inc)].mean()


def test_memory_leak_climbs_kills_and_resets(history):
    om = history.om
    for inc in _windows(history, "memory_leak"):
        svc = WORLD.service(inc.root_cause_service)
        ts, rss = om.one("process_resident_memory_bytes", service=svc.name)
        w = _in(ts, inc)
        assert rss[w].max() > 0.85 * svc.rss_limit_bytes and rss[_before(ts, inc)].max() < 0.6 * svc.rss_limit_bytes
        _, restarts = om.one("kube_pod_container_status_restarts_total", service=svc.name)
        assert restarts[w][-1] > restarts[_before(ts, inc)][-1]
        _, cpu = om.one("process_cpu_seconds_total", service=svc.name)
        assert (np.diff(cpu[w]) < 0).sum() >= 1  # counters reset at the OOM kill
        _, up = om.one("up", job=svc.name)
        assert up[w].min() == 0 and up[_before(ts, inc)].min() == 1


def test_bad_deploy_changes_version_and_latency(history):
    om = history.om
    for inc in _windows(history, "bad_deploy"):
        svc = inc.root_cause_service
        ts, _ = om.one("shop_build_info", service=svc, version=inc.version)
        assert ts.min() >= inc.start.timestamp() and ts.max() <= inc.end.timestamp()
        ts, p = _p90(om, svc)
        assert np.median(p[_in(ts, inc, 300)]) >= 2 * np.median(p[_before(ts, inc)])
        fr = {"checkout": "/checkout", "payments": "/checkout", "cart": "/cart", "catalog": "/product/{id}"}[svc]
        ts, p = _p90(om, "frontend", fr)
        assert np.median(p[_in(ts, inc, 300)]) > np.median(p[_before(ts, inc)])


def test_traffic_surge_overloads_the_frontend(history):
    om = history.om
    for inc in _windows(history, "traffic_surge"):
        ts, rps = _rate(om, "http_requests_total", service="frontend")
        assert rps[_in(ts, inc, 300)].mean() > 1.8 * rps[_before(ts, inc)].mean()
        _, shed = _rate(om, "http_requests_total", service="frontend", code="503")
        assert (shed / np.maximum(rps, 1e-9))[_in(ts, inc, 300)].mean() > 0.1 and shed[_before(ts, inc)].sum() == 0
        ts, p = _p90(om, "frontend")
        assert np.median(p[_in(ts, inc, 300)]) >= 2 * np.median(p[_before(ts, inc)])


def _jsonl(path):
    return [json.loads(ln) for ln in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def logs(history):
    return _jsonl(history.dir / "logs.jsonl")


@pytest.fixture(scope="module")
def spans(history):
    return _jsonl(history.dir / "traces.jsonl")


def test_log_schema_and_templates(logs):
    assert logs and all(set(r) >= {"timestamp", "service", "level", "message", "trace_id"} for r in logs)
    assert [r["timestamp"] for r in logs] == sorted(r["timestamp"] for r in logs)
    assert {r["level"] for r in logs} <= {"INFO", "WARN", "ERROR"}
    assert {r["service"] for r in logs} <= set(WORLD.service_names)
    # a handful of templates: messages collapse when numbers and ids are masked
    import re

    shapes = Counter(re.sub(r"\d+", "N", re.sub(r"/[\w{}/]+", "/P", r["message"])) for r in logs)
    assert 5 <= len(shapes) <= 80


def _density(records, inc, pred, key="timestamp"):
    a, b = inc.start.timestamp(), inc.end.timestamp()
    hits = [as_utc(r[key]).timestamp() for r in records if pred(r)]
    inside = sum(a <= t <= b for t in hits)
    outside = len(hits) - inside
    return inside / ((b - a) / 3600), outside / ((3 * 86400 - (b - a)) / 3600)


@pytest.mark.parametrize("kind,service,text", [
    ("db_pool_exhaustion", "checkout", "connection pool exhausted"),
    ("db_pool_exhaustion", "frontend", "upstream checkout"),
    ("disk_fill", "checkout", "No space left on device"),
    ("traffic_surge", "frontend", "request shed"),
    ("memory_leak", None, "OOMKilled"),
    ("cache_failure", "catalog", "cache miss ratio high"),
])
def test_error_logs_concentrate_in_incident_windows(history, logs, kind, service, text):
    for inc in _windows(history, kind):
        svc = service or inc.root_cause_service
        inside, outside = _density(logs, inc, lambda r: r["service"] == svc and text in r["message"])
        assert inside > 0 and inside > 10 * outside, (kind, svc, inside, outside)


def test_spans_follow_the_call_graph(spans):
    graph = WORLD.call_graph()
    by_id = {s["span_id"]: s for s in spans}
    roots = [s for s in spans if s["parent_span_id"] is None]
    assert roots and all(s["service"] == "frontend" for s in roots)
    for s in spans:
        assert set(s) >= {"trace_id", "span_id", "parent_span_id", "service", "operation", "start", "duration",
                          "status"}
        assert s["status"] in ("OK", "ERROR") and s["duration"] >= 0
        if s["parent_span_id"] is not None:
            p = by_id[s["parent_span_id"]]
            assert p["trace_id"] == s["trace_id"]
            assert s["service"] == p["service"] or s["service"] in graph[p["service"]], (p, s)
            assert as_utc(s["start"]) >= as_utc(p["start"])


@pytest.mark.parametrize("kind", ["db_pool_exhaustion", "disk_fill", "traffic_surge"])
def test_error_spans_concentrate_on_the_right_services(history, spans, kind):
    for inc in _windows(history, kind):
        svc = {"db_pool_exhaustion": inc.root_cause_service, "disk_fill": "postgres", "traffic_surge": "frontend"}[kind]
        inside, outside = _density(spans, inc, lambda s: s["status"] == "ERROR" and s["service"] == svc, "start")
        assert inside > 5 * max(outside, 0.05), (kind, inside, outside)


def test_error_logs_link_to_error_traces(history, logs, spans):
    err_traces = {s["trace_id"] for s in spans if s["status"] == "ERROR"}
    inc = _windows(history, "db_pool_exhaustion")[0]
    linked = [r for r in logs if r["level"] == "ERROR" and r["service"] == inc.root_cause_service
              and inc.start <= as_utc(r["timestamp"]) <= inc.end]
    assert linked and sum(r["trace_id"] in err_traces for r in linked) >= len(linked) // 3


def test_bad_deploy_shows_slow_request_warnings(history, logs):
    for inc in _windows(history, "bad_deploy"):
        inside, outside = _density(logs, inc, lambda r: r["service"] == inc.root_cause_service
                                   and r["message"].startswith("slow request"))
        assert inside > 5 * max(outside, 0.1), (inside, outside)
