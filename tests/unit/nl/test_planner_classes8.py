"""States numbered in HELP ("1=healthy, 2=degraded"), conditions that are label values ("not schedulable" on
``x_status{condition="schedulable"}``, "not ready" on ``x_condition{type="Ready", status="False"}``), shares and
percentages kept as one gauge asked "per X" when each X has its own series (kept as they are; amounts and shares
formed of two amounts still add up per group), "as a
percentage" of a share, a share gauge whose HELP says "as a percentage of" (a fraction), units read from HELP
("(ns)") and power units, bits of ``bodybytes`` and ``kbytes`` counters, "how many" of a count gauge, a gauge
whose HELP says it is a counter, commit/abort pairs, a plural naming a value of two words ("power supplies") and a
framework named for its language's exporter ("rails" -> ``ruby_*``), and a chatty preamble before the question.
Built on a small catalogue of made-up exporters; no name here is in the planner's code."""

from __future__ import annotations

import pytest

from ._catalogue_kit import metric, promql

VOLS = ["pvc-a", "pvc-b", "pvc-c"]
METRICS = [
    metric("blockstore_volume_robustness", "gauge", "Robustness of this volume: 0=unknown, 1=healthy, 2=degraded, "
           "3=faulted", volume=VOLS, job=["blockstore"]),
    metric("blockstore_node_status", "gauge", "Status of this node", condition=["ready", "schedulable"],
           node=["n1", "n2"]),
    metric("syncer_resource_condition", "gauge", "The current condition status of a resource.",
           type=["Ready", "Stalled"], status=["True", "False", "Unknown"], name=["apps", "infra"]),
    metric("webtier_busy_workers", "gauge", "Workers busy", instance=["w-1:9394", "w-2:9394"], job=["webtier"]),
    metric("webtier_max_workers", "gauge", "Workers allowed", instance=["w-1:9394", "w-2:9394"], job=["webtier"]),
    metric("webtier_open_sockets", "gauge", "Open sockets", instance=["w-1:9394", "w-2:9394"], job=["webtier"]),
    metric("cloudmon_db_memory_utilization", "gauge", "RAM utilization as a percentage of the total available RAM.",
           database_id=["p:orders", "p:billing"]),
    metric("gpuhost_core_utilization", "gauge", "Core utilization (in %).", gpu=["0", "1"]),
    metric("blockstore_volume_read_latency", "gauge", "Read latency of this volume (ns)", volume=VOLS),
    metric("bmc_power_draw_watts", "gauge", "Current power draw in Watts.", instance=["bmc-1", "bmc-2"]),
    metric("cacheproxy_resp_bodybytes", "counter", "Response body bytes", instance=["cp-1:9131"]),
    metric("webproxy_client_kbytes_in_kbytes_total", "counter", "Kilobytes received from clients",
           instance=["wp-1:9301"]),
    metric("broker_topics_count", "gauge", "Number of topics", namespace=["tenant/a", "tenant/b"],
           instance=["b-0:8080", "b-1:8080"]),
    metric("relstore_activity_user_commits", "gauge", "Generic counter metric from the stats view.",
           instance=["rs-1:9161", "rs-2:9161"]),
    metric("relstore_activity_user_rollbacks", "gauge", "Generic counter metric from the stats view.",
           instance=["rs-1:9161", "rs-2:9161"]),
    metric("kvlayer_txn_commits", "counter", "Number of committed transactions", instance=["kv-0:8080"]),
    metric("kvlayer_txn_aborts", "counter", "Number of aborted transactions", instance=["kv-0:8080"]),
    metric("bmc_sensor_state", "gauge", "Severity of the sensor state (0=nominal, 1=warning, 2=critical).",
           type=["Power Supply", "Fan"], name=["PS1 Status", "Fan1"]),
    metric("ruby_web_requests_total", "counter", "Total HTTP requests from the web app.",
           controller=["cart", "home"], status=["200", "500"]),
    metric("meshcache_cluster_members", "gauge", "Number of members in the cluster.",
           instance=["mc-0:9094", "mc-1:9094"]),
    metric("meshcache_node_state", "gauge", "State of the node endpoints.", endpoint_state=["ready", "not-ready"],
           instance=["mc-0:9094", "mc-1:9094"]),
    metric("bmc_chassis_power_state", "gauge", "Current power state (1=on, 0=off).", instance=["bmc-1", "bmc-2"]),
]


@pytest.mark.parametrize("question, expected", [
    ("which blockstore volumes are degraded", "blockstore_volume_robustness == 2"),
    ("blokstore faulted volumes", "blockstore_volume_robustness == 3"),
    ("how many blockstore volumes are healthy", "count(blockstore_volume_robustness == 1)"),
    ("any power supplies in critical state?", 'bmc_sensor_state{type="Power Supply"} == 2'),
])
def test_states_numbered_in_help(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("is any blockstore node not schedulable", 'blockstore_node_status{condition="schedulable"} == 0'),
    ("which blockstore nodes are schedulable", 'blockstore_node_status{condition="schedulable"} == 1'),
    ("which syncer resources are not ready", 'syncer_resource_condition{status="False",type="Ready"} == 1'),
    ("how many syncer resources are ready", 'sum(syncer_resource_condition{status="True",type="Ready"})'),
    ("meshcache endpoints not ready", 'meshcache_node_state{endpoint_state="not-ready"}'),  # the value says it
])
def test_conditions_that_are_label_values(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("webtier worker utilization per instance",  # a share formed of two amounts: their sums per group
     "sum by (instance) (webtier_busy_workers) / sum by (instance) (webtier_max_workers)"),
    ("webtier worker utilization as a percentage", "(webtier_busy_workers / webtier_max_workers) * 100"),
    ("gpuhost core utilization per gpu", "gpuhost_core_utilization"),
    ("webtier open sockets per instance", "sum by (instance) (webtier_open_sockets)"),  # an amount adds up
])
def test_shares_per_group_keep_their_series(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("cloudmon db memory utilization as a percentage", "cloudmon_db_memory_utilization * 100"),
    ("cloudmon databases with memory utilization above 80%", "cloudmon_db_memory_utilization > 0.8"),
    ("gpuhost gpus with core utilization above 80%", "gpuhost_core_utilization > 80"),
    ("gpuhost core utilization as a percentage", "gpuhost_core_utilization"),  # already in percent
])
def test_percent_of_a_share(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("read latency of pvc-b in milliseconds", 'blockstore_volume_read_latency{volume="pvc-b"} / 1000000'),
    ("power draw of bmc-2 in kilowatts", 'bmc_power_draw_watts{instance="bmc-2"} / 1000'),
    ("cacheproxy response traffic in bits per second", "sum(rate(cacheproxy_resp_bodybytes[5m])) * 8"),
    ("webproxy traffic from clients in bits per second",
     "sum(rate(webproxy_client_kbytes_in_kbytes_total[5m])) * 8192"),
])
def test_units_from_help_power_and_byte_words(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("how many topics do we have in the broker", "sum(broker_topics_count)"),
    ("how many members are in the meshcache cluster", "meshcache_cluster_members"),  # each member sees them all
    ('how many topics does the broker have in namespace tenant/a on b-0',
     'broker_topics_count{instance=~"b-0:.*",namespace="tenant/a"}'),
    ("relstore commits per second on rs-1", 'sum(rate(relstore_activity_user_commits{instance=~"rs-1:.*"}[5m]))'),
    ("rollback ratio on relstore",
     ("sum(rate(relstore_activity_user_rollbacks[5m])) / (sum(rate(relstore_activity_user_rollbacks[5m])) + "
      "sum(rate(relstore_activity_user_commits[5m])))")),
    ("kvlayer transaction abort ratio",
     "sum(rate(kvlayer_txn_aborts[5m])) / (sum(rate(kvlayer_txn_aborts[5m])) + sum(rate(kvlayer_txn_commits[5m])))"),
])
def test_counts_and_counters_kept_as_gauges(planner, question, expected):
    assert promql(planner, question) == expected


def test_without_a_rate_word_a_counter_gauge_is_its_value(planner):
    assert promql(planner, "relstore user commits on rs-2") == 'relstore_activity_user_commits{instance=~"rs-2:.*"}'


def test_a_framework_names_its_languages_metrics(planner):
    assert promql(planner, "rails 500 errors per second by controller") == \
        'sum by (controller) (rate(ruby_web_requests_total{status="500"}[5m]))'


@pytest.mark.parametrize("question, expected", [
    ("quick sanity check - kvlayer transaction abort ratio?",
     "sum(rate(kvlayer_txn_aborts[5m])) / (sum(rate(kvlayer_txn_aborts[5m])) + sum(rate(kvlayer_txn_commits[5m])))"),
    ("sorry, dumb question: how many topics do we have in the broker", "sum(broker_topics_count)"),
])
def test_a_chatty_preamble_is_not_the_question(planner, question, expected):
    assert promql(planner, question) == expected


def test_a_preamble_that_names_something_is_kept(planner):
    """'pvc-b is slow - read latency in ms?': the preamble names the volume the question is about."""
    assert promql(planner, "pvc-b is slow - read latency in milliseconds?") == \
        'blockstore_volume_read_latency{volume="pvc-b"} / 1000000'
    assert promql(planner, "the rs-1 box feels sluggish - relstore commits per second?") == \
        'sum(rate(relstore_activity_user_commits{instance=~"rs-1:.*"}[5m]))'
