"""Differential test: the embedded engine against a real Prometheus 2.42 on the same histories.

Two histories: the demo world (``demo_history`` / ``prometheus_demo`` session fixtures) and a small
synthetic one with the corners PromQL semantics hinge on (a counter reset, a 20-minute gap, a series
that starts late, jittered scrapes). Queries are generated from each store's metric catalogue
(:mod:`promv5_lab.backends.embedded.querygen`) and run as instant and range queries at varied times
and steps; label sets, timestamps and values (relative 1e-6) must be identical. Prometheus quirks are
matched, not skipped: atan2 keeps the metric name, predict_linear over ``x[..] @ t`` slides in range
queries, topk/bottomk ties follow Prometheus's heap. Fails (does not skip) without the binaries.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from promv5_lab.backends.embedded.differential import Case, ask_engine, ask_prometheus, compare
from promv5_lab.backends.embedded.evaluator import Engine
from promv5_lab.backends.embedded.querygen import catalogue_from_store, features, instant_only, queries
from promv5_lab.backends.embedded.storage import Store
from promv5_lab.backends.embedded.synthetic import write_history
from promv5_lab.backends.harness import PrometheusHarness

REQUIRED = {
    *(f"fn:{f}" for f in ["rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear", "resets", "changes", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "quantile_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time", "present_over_time", "histogram_quantile", "absent", "absent_over_time", "scalar", "vector", "time", "timestamp", "abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "sgn", "round", "clamp", "clamp_min", "clamp_max", "label_replace", "label_join", "sort", "sort_desc", "hour", "minute", "month", "year", "day_of_week", "day_of_month", "day_of_year", "days_in_month", "holt_winters", "acos", "asin", "atan", "sin", "cos", "tan", "deg", "rad"]),
    *(f"agg:{a}" for a in ["sum", "avg", "min", "max", "count", "stddev", "stdvar", "quantile", "topk", "bottomk", "count_values", "group"]),
    *(f"op:{o}" for o in ["+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless"]),
    *(f"mod:{m}" for m in ["offset", "@", "subquery", "bool", "on", "ignoring", "group_left", "group_right", "by", "without"]),
}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """(engine, prometheus url) over the synthetic history."""
    om = write_history(tmp_path_factory.mktemp("synthetic") / "metrics.om", hours=6)
    prom = PrometheusHarness(tmp_path_factory.mktemp("prom-synthetic"), evaluation_interval="1m")
    try:
        prom.backfill(om)
        prom.start()
        yield Engine(Store.from_openmetrics(om)), prom.url
    finally:
        prom.stop()


@pytest.fixture(scope="module")
def demo(demo_history, prometheus_demo):
    return Engine(Store.from_openmetrics(Path(demo_history.out_dir) / "metrics.om")), prometheus_demo.url


def _run(engine: Engine, url: str, cases: list[Case], ordered: set[str]) -> list[str]:
    session = requests.Session()
    failures = []
    answered = 0
    for c in cases:
        prom = ask_prometheus(session, url, c)
        answered += prom.get("status") == "success"
        diff = compare(prom, ask_engine(engine, c), ordered=c.promql in ordered)
        if diff:
            failures.append(f"{c.describe()}: {diff}")
    # the generated queries are meant to be valid: comparing two errors would prove little
    assert answered >= 0.97 * len(cases), f"only {answered} of {len(cases)} cases succeeded on Prometheus"
    return failures


def _cases(engine: Engine, *, dense: bool) -> tuple[list[Case], set[str]]:
    lo, hi = engine.store.time_bounds()
    mid = (lo + hi) // 2
    cat = catalogue_from_store(engine.store)
    qs = queries(cat, at_ms=mid)
    ordered = {q for q in qs if q.startswith("sort")}
    cases = []
    for i, q in enumerate(qs):
        if dense or i % 3 == 0:
            cases.append(Case(q, "instant", time_ms=mid + 12_345))
        if dense:
            cases.append(Case(q, "instant", time_ms=[lo + 90_000, hi + 200_000, lo + 2 * 3600_000 + 900_000][i % 3]))
            cases.append(Case(q, "range", start_ms=lo + 3600_000, end_ms=lo + 3 * 3600_000, step_ms=60_000))
            cases.append(Case(q, "range", start_ms=mid - 1200_000, end_ms=mid + 1200_000, step_ms=17_000)
                         if i % 2 else Case(q, "range", start_ms=lo - 600_000 + 1234, end_ms=hi + 900_000, step_ms=420_000))
        elif i % 3 == 1:
            cases.append(Case(q, "range", start_ms=hi - 3 * 3600_000, end_ms=hi, step_ms=60_000))
        elif i % 3 == 2:
            cases.append(Case(q, "range", start_ms=lo - 600_000 + 1234, end_ms=hi + 900_000, step_ms=1800_000))
    for q in instant_only(cat):
        cases += [Case(q, "instant", time_ms=t) for t in (lo + 90_000, mid, hi)]
    return cases, ordered


def test_query_set_covers_the_language(synthetic):
    engine, _ = synthetic
    cat = catalogue_from_store(engine.store)
    qs = queries(cat, at_ms=engine.store.time_bounds()[0] + 3600_000) + instant_only(cat)
    assert len(qs) >= 300
    covered = set().union(*(features(q) for q in qs))
    assert REQUIRED <= covered, sorted(REQUIRED - covered)


def test_synthetic_history_matches_prometheus(synthetic):
    engine, url = synthetic
    cases, ordered = _cases(engine, dense=True)
    t0 = time.perf_counter()
    failures = _run(engine, url, cases, ordered)
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:20])
    assert time.perf_counter() - t0 < 120


def test_demo_history_matches_prometheus(demo):
    engine, url = demo
    cases, ordered = _cases(engine, dense=False)  # one case per query: the synthetic run is the dense one
    assert len({c.promql for c in cases}) >= 300
    failures = _run(engine, url, cases, ordered)
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize(
    "promql",
    ["sum(", "rate(up)", "up{", "", "nosuchfunction(up)", "foo)", "up + on() up", "sum(up) + on(job) up",
     'label_replace(up, "a-b", "x", "job", ".*")', "topk(scalar(vector(0)/0), up)", "mad_over_time(up[5m])",
     "limitk(1, up)", "holt_winters(up[5m], 2, 0.5)", 'sort_by_label(up, "job")'],
)
def test_errors_match_prometheus(synthetic, promql):
    engine, url = synthetic
    t = engine.store.time_bounds()[1]
    prom = ask_prometheus(requests.Session(), url, Case(promql, "instant", time_ms=t))
    assert prom["status"] == "error"
    assert compare(prom, ask_engine(engine, Case(promql, "instant", time_ms=t))) is None


def test_resolution_limit_matches_prometheus(synthetic):
    engine, url = synthetic
    case = Case("up", "range", start_ms=0, end_ms=11_001_000, step_ms=1000)
    prom = ask_prometheus(requests.Session(), url, case)
    ours = ask_engine(engine, case)
    assert prom["errorType"] == "bad_data" and compare(prom, ours) is None
    assert ours.message == prom["error"]


def test_catalogue_endpoints_match_prometheus(synthetic):
    """/api/v1/series, /labels and /label/<name>/values of the engine's server answer like Prometheus."""
    from promv5_lab.backends.embedded.backend import EmbeddedBackend
    from promv5_lab.backends.embedded.server import serve_in_thread

    engine, url = synthetic
    httpd, ours = serve_in_thread(EmbeddedBackend(engine.store))
    lo, hi = engine.store.time_bounds()
    try:
        for path, params in [
            ("/api/v1/series", {"match[]": ['up{job="db"}', "queue_depth"]}),
            ("/api/v1/series", {"match[]": "batch_jobs_processed_total", "start": str(lo / 1000), "end": str(lo / 1000 + 600)}),
            ("/api/v1/labels", {}),
            ("/api/v1/labels", {"match[]": "cpu_usage_ratio"}),
            ("/api/v1/label/job/values", {}),
            ("/api/v1/label/__name__/values", {"match[]": '{job="api"}'}),
        ]:
            theirs = requests.get(url + path, params=params, timeout=10).json()
            mine = requests.get(ours + path, params=params, timeout=10).json()
            key = lambda d: sorted(map(str, d["data"]))
            assert theirs["status"] == mine["status"] == "success"
            assert key(mine) == key(theirs), path
        assert hi > lo
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_import_snapshot_holds_the_same_samples(synthetic, tmp_path):
    """'embedded import' pulls raw samples: the snapshot equals the history Prometheus was fed."""
    import numpy as np

    from promv5_lab.backends.embedded.importer import import_prometheus

    engine, url = synthetic
    lo, hi = engine.store.time_bounds()
    snap = import_prometheus(url, ['{__name__=~"up|queue_depth|http_requests_total"}'], lo, hi, window_s=5400)
    snap.save(tmp_path / "snap")
    snap = Store.load(tmp_path / "snap")
    ids = engine.store.select([("__name__", "=~", "up|queue_depth|http_requests_total")])
    assert sorted(snap.labels) == sorted(engine.store.labels[i] for i in ids)
    for i in ids:
        j = snap.labels.index(engine.store.labels[i])
        np.testing.assert_array_equal(snap.ts[j], engine.store.ts[i])
        np.testing.assert_array_equal(snap.vals[j], engine.store.vals[i])


def test_cli_import_then_query(synthetic, tmp_path):
    """``promv5-lab embedded import`` snapshots a live server; ``embedded query`` answers from the snapshot."""
    import json

    import typer
    from typer.testing import CliRunner

    from promv5_lab.backends.embedded.cli import register

    engine, url = synthetic
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register(app)
    lo, hi = engine.store.time_bounds()
    out = tmp_path / "snap"
    r = CliRunner().invoke(app, ["embedded", "import", "--from", url, "--match", "up", "--match", "queue_depth",
                                 "--start", str(lo / 1000), "--end", str(hi / 1000), "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["embedded", "query", "--data", str(out), "--time", str(hi / 1000), "count(up)"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["result"][0]["value"][1] == "6"
