"""Values asked in a unit ("in GB", "in MiB", "in MB/s", "in minutes", "in ms"): the plan scales the metric from
the unit it is kept in (its name's unit word, else its HELP's) to the one asked, and says so when it cannot.
Thresholds given with a unit ("above 100ms") are compared in the metric's own unit, comparative words
("longer than", "hotter than") filter, and short plurals ("osds", "gpus") meet their singular label and name.
Built on a small catalogue of made-up exporters; no name here is in the planner's code."""

from __future__ import annotations

import pytest

from promv5_lab.nl.readings import read_phrases, unit_scale
from promv5_lab.nl.render import render
from promv5_lab.types import QueryPlan

from ._catalogue_kit import metric, promql

METRICS = [
    metric("vault_store_used_bytes", "gauge", "Bytes stored in the vault.", job=["vault"], instance=["v-0"]),
    metric("vault_store_size_bytes", "gauge", "Bytes the vault may hold.", job=["vault"], instance=["v-0"]),
    metric("ingest_received_bytes_total", "counter", "Bytes received by the ingester.", tenant=["blue", "red"]),
    metric("ingest_received_lines_total", "counter", "Lines received by the ingester.", tenant=["blue", "red"]),
    metric("pipeline_last_run_duration_milliseconds", "gauge", "How long the last pipeline run took.",
           pipeline=["nightly", "hourly"]),
    metric("accel_framebuffer_used", "gauge", "Framebuffer memory used (in MiB).", gpu=["0", "1"]),
    metric("accel_temperature_celsius", "gauge", "Accelerator temperature.", gpu=["0", "1"]),
    metric("blob_osd_commit_latency_ms", "gauge", "Commit latency of the OSD in ms", osd=["osd.1", "osd.2"]),
    metric("rules_group_last_eval_seconds", "gauge", "The duration of the last evaluation of the rule group.",
           rule_group=["node", "apps"]),
    metric("accel_utilization", "gauge", "Accelerator utilization (in %).", gpu=["0", "1"]),
    metric("autoscaler_trigger_active", "gauge", "1 when the trigger is active, 0 otherwise.",
           trigger=["kafka-orders", "cron-reports"]),
    metric("queue_worker_active", "gauge", "Whether a worker is active (1), or not (0).", worker=["w1", "w2"]),
    metric("fluentbit_output_proc_bytes_total", "counter", "Bytes shipped by the output plugin.", node=["n1", "n2"]),
]



@pytest.mark.parametrize("question, expected", [
    ("vault store used in GB", "vault_store_used_bytes / 1000000000"),
    ("vault storage used in GiB", "vault_store_used_bytes / 1073741824"),
    ("bytes received per tenant in MB/s", "sum by (tenant) (rate(ingest_received_bytes_total[5m])) / 1000000"),
    ("how long did the last nightly pipeline run take in minutes",
     'pipeline_last_run_duration_milliseconds{pipeline="nightly"} / 60000'),
    ("framebuffer memory used in GB", "accel_framebuffer_used * 0.001048576"),
])
def test_the_value_is_shown_in_the_unit_asked(planner, question, expected):
    assert promql(planner, question) == expected


def test_a_unit_of_another_kind_is_not_guessed(planner):
    plan = planner.plan("accelerator temperature in GB")
    assert plan.scale == 1.0 and any("unit" in n for n in plan.notes)


def test_time_words_are_not_a_unit():
    """'in the last 5 minutes' is a time range and 'in 2 hours' a moment, not a unit to show values in."""
    for q in ("errors in the last 5 minutes", "requests in 2 hours", "latency in the past day"):
        assert read_phrases(q).unit is None, q
    r = read_phrases("disk used in TB")
    assert r.unit == ("data", 1e12) and "TB" not in r.rest


def test_unit_scale_reads_the_metrics_own_unit():
    used = METRICS[0]
    assert unit_scale(used, ("data", 1e6)) == pytest.approx(1e-6)
    assert unit_scale(used, ("time", 60.0)) is None  # bytes are not minutes
    assert unit_scale(METRICS[4], ("time", 1.0)) == pytest.approx(1e-3)  # milliseconds shown in seconds
    assert unit_scale(METRICS[5], ("data", 2.0 ** 30)) == pytest.approx(2.0 ** -10)  # MiB (from HELP) in GiB
    assert unit_scale(METRICS[6], ("data", 1e9)) is None


@pytest.mark.parametrize("scale, text", [
    (1e-9, "x_bytes / 1000000000"), (2.0 ** -30, "x_bytes / 1073741824"), (1 / 60000, "x_bytes / 60000"),
    (8.0, "x_bytes * 8"), (8e-6, "x_bytes * 8e-06"),
])
def test_render_writes_a_unit_change_as_a_division_when_it_reads_better(scale, text):
    assert render(QueryPlan("x_bytes", "gauge", "value", scale=scale)) == text


@pytest.mark.parametrize("question, expected", [
    ("osds with commit latency above 100ms", "blob_osd_commit_latency_ms > 100"),
    ("which osds have commit latency above 0.25 seconds", "blob_osd_commit_latency_ms > 250"),
    ("rule groups taking longer than 2 seconds to evaluate", "rules_group_last_eval_seconds > 2"),
    ("rule groups taking longer than 1500ms to evaluate", "rules_group_last_eval_seconds > 1.5"),
    ("which accelerators run hotter than 80 degrees", "accel_temperature_celsius > 80"),
])
def test_thresholds_are_read_in_the_metrics_own_unit(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("accelerators above 90% utilization", "accel_utilization > 90"),  # kept in percent: 90, not 0.9
    ("how many accelerators are above 60 degrees", "count(accel_temperature_celsius > 60)"),
    ("fluent bit output bytes per second per node", "sum by (node) (rate(fluentbit_output_proc_bytes_total[5m]))"),
    ("fluent bit output in bits per second", "sum(rate(fluentbit_output_proc_bytes_total[5m])) * 8"),
    ("which autoscaler triggers are inactive", "autoscaler_trigger_active == 0"),
    ("which autoscaler triggers are active", "autoscaler_trigger_active == 1"),
    ("which queue workers are inactive", "queue_worker_active == 0"),
    ("which queue workers are active", "queue_worker_active == 1"),
])
def test_percent_gauges_counted_thresholds_and_names_that_look_like_units(planner, question, expected):
    assert promql(planner, question) == expected
