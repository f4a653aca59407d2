"""Gauges asked "with X waiting" / "that have X" keep the series above 0; a counter of time over the counter of
its events when the events' name carries one more word (``x_queries_pooled_total``); "given up" retries are
failures; "usage" of a total whose used sibling is the same name with ``used`` (``x_total_used_bytes`` /
``x_total_bytes``); executors ``in_use`` over their ``count``; "capacity in TB" stays an amount. Built on a small
catalogue of made-up exporters; no name here is in the planner's code."""

from __future__ import annotations

import pytest

from ._catalogue_kit import metric, promql

METRICS = [
    metric("bouncer_pools_client_waiting_connections", "gauge", "Client connections waiting on a server connection",
           database=["shop", "auth"]),
    metric("bouncer_pools_client_active_connections", "gauge", "Client connections linked to a server connection",
           database=["shop", "auth"]),
    metric("bouncer_stats_queries_duration_seconds_total", "counter", "Total time spent running queries",
           database=["shop", "auth"]),
    metric("bouncer_stats_queries_pooled_total", "counter", "Total number of SQL queries pooled",
           database=["shop", "auth"]),
    metric("shipper_output_retries_total", "counter", "Number of output retries", name=["es.0", "loki.1"]),
    metric("shipper_output_retries_failed_total", "counter", "Number of abandoned retries", name=["es.0", "loki.1"]),
    metric("objstore_cluster_total_bytes", "gauge", "Total raw capacity", job=["objstore"]),
    metric("objstore_cluster_total_used_bytes", "gauge", "Raw capacity used", job=["objstore"]),
    metric("builder_executor_in_use_value", "gauge", "Executors in use", job=["builder"]),
    metric("builder_executor_count_value", "gauge", "Executors", job=["builder"]),
]



@pytest.mark.parametrize("question, expected", [
    ("bouncer pools with clients waiting", "bouncer_pools_client_waiting_connections > 0"),
    ("average query time in bouncer",
     "sum(rate(bouncer_stats_queries_duration_seconds_total[5m])) / sum(rate(bouncer_stats_queries_pooled_total[5m]))"),
    ("what fraction of retries to the es.0 output are given up",
     ('sum(rate(shipper_output_retries_failed_total{name="es.0"}[5m])) / '
      'sum(rate(shipper_output_retries_total{name="es.0"}[5m]))')),
    ("objstore cluster usage", "objstore_cluster_total_used_bytes / objstore_cluster_total_bytes"),
    ("is objstore more than 80% full", "(objstore_cluster_total_used_bytes / objstore_cluster_total_bytes) > 0.8"),
    ("builder executor utilisation", "builder_executor_in_use_value / builder_executor_count_value"),
])
def test_gauges_with_some_times_and_capacity_pairs(planner, question, expected):
    assert promql(planner, question) == expected


def test_without_waiting_clients_no_filter(planner):
    assert promql(planner, "bouncer waiting client connections") == "bouncer_pools_client_waiting_connections"


def test_capacity_asked_in_a_unit_is_an_amount(planner):
    plan = planner.plan("objstore raw capacity in TB")
    assert plan.ratio is None and plan.scale == pytest.approx(1e-12)
