"""Dependency graph, self-time and error origins on a hand-built set of spans."""

from __future__ import annotations

import pandas as pd
import pytest

from promv5_lab.analysis.rootcause.traces import (
    dependency_graph,
    error_paths,
    graph_dict,
    self_times,
    upstream_closure,
)
from promv5_lab.errors import InputError

T0 = pd.Timestamp("2026-11-27T10:00:00Z")


def span(tid, sid, parent, service, op, dur, status="OK", kind="SERVER", attrs=None):
    return {"trace_id": tid, "span_id": sid, "parent_span_id": parent, "service": service, "operation": op,
            "kind": kind, "start": T0, "duration_ms": float(dur), "status": status, "attributes": attrs or {}}


@pytest.fixture()
def spans() -> pd.DataFrame:
    rows = [
        # trace 1: frontend -> checkout -> (payments, postgres); the error starts in postgres
        span("t1", "a", None, "frontend", "POST /checkout", 100, "ERROR"),
        span("t1", "b", "a", "checkout", "POST /checkout", 80, "ERROR"),
        span("t1", "c", "b", "payments", "POST /charge", 30),
        span("t1", "d", "b", "postgres", "INSERT orders", 20, "ERROR"),
        # trace 2: frontend -> catalog -> redis; all fine
        span("t2", "e", None, "frontend", "GET /", 40),
        span("t2", "f", "e", "catalog", "GET /products", 25),
        span("t2", "g", "f", "redis", "GET", 1),
        # trace 3: frontend's client call to cart is refused: the origin is cart (peer.service)
        span("t3", "h", None, "frontend", "POST /cart", 5, "ERROR"),
        span("t3", "i", "h", "frontend", "POST cart/cart/items", 1, "ERROR", "CLIENT", {"peer.service": "cart"}),
    ]
    return pd.DataFrame(rows)


def test_graph_edges_and_counts(spans):
    edges = {(e.caller, e.callee): (e.calls, e.errors) for e in dependency_graph(spans)}
    assert edges == {("frontend", "checkout"): (1, 1), ("checkout", "payments"): (1, 0),
                     ("checkout", "postgres"): (1, 1), ("frontend", "catalog"): (1, 0), ("catalog", "redis"): (1, 0)}
    g = graph_dict(dependency_graph(spans))
    assert upstream_closure(g, "postgres") == {"checkout", "frontend"}
    assert upstream_closure(g, "frontend") == set()


def test_self_time_is_duration_minus_children(spans):
    st = self_times(spans).set_index(["service", "operation"])
    assert st.loc[("checkout", "POST /checkout"), "self_ms_mean"] == pytest.approx(80 - 30 - 20)
    assert st.loc[("frontend", "POST /checkout"), "self_ms_mean"] == pytest.approx(20)
    assert st.loc[("frontend", "GET /"), "self_ms_mean"] == pytest.approx(15)
    assert st.loc[("redis", "GET"), "self_ms_mean"] == pytest.approx(1)


def test_errors_originate_where_no_child_failed(spans):
    ep = error_paths(spans)
    assert ep.origins == {"postgres": 1, "cart": 1}
    assert ep.passed == {"frontend": 3, "checkout": 1}
    assert ep.paths[("frontend", "checkout", "postgres")] == 1
    assert ep.exemplars["postgres"] == ("t1",)
    assert ep.origin_share("postgres") == pytest.approx(0.5)


def test_empty_and_malformed():
    empty = pd.DataFrame(columns=["trace_id", "span_id", "parent_span_id", "service", "operation", "duration_ms",
                                  "status"])
    assert dependency_graph(empty) == [] and error_paths(empty).origins == {}
    with pytest.raises(InputError, match="span_id"):
        dependency_graph(pd.DataFrame({"trace_id": ["x"]}))
