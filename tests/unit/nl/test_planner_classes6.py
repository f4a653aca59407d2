"""Choosing among one exporter's siblings and reading who did what: "X by <agent>" names a label value, not a
grouping; a word that is part of a label name ("persistent" of persistentvolumeclaim) is not unknown; "fullest
<thing>" is the top one; "how close to its limit" divides use by the limit; a queue's size is bounded by its
capacity; words every metric of a system carries (``natsd_varz_*``) do not pair a gauge with a limit; a failure
value written with a dash (``fail-unknown``); a word inside a value (``Policy denied``, ``api_v1_push``);
"average request time" of JMX-style counters (``processingtime`` / ``requestcount``); a health gauge named by
the question before the targets' ``up``; "messages in per second" (``x_in_msgs``, not ``x_out_msgs``); a label's
name ("subsystem") is never "corrected" into a name word ("system"). Built on a small catalogue of made-up exporters; no name here is in
the planner's code."""

from __future__ import annotations

import pytest

from ._catalogue_kit import metric, promql

METRICS = [
    metric("up", "gauge", "1 if the target is up.", job=["edge", "natsd", "kubelet", "flow-workflows"], instance=["a:1", "b:1"]),
    metric("collector_receiver_accepted_points_total", "counter", "Points pushed into the pipeline.",
           receiver=["otlp", "prometheus"], transport=["grpc", "http"]),
    metric("kubelet_volume_stats_used_bytes", "gauge", "Number of used bytes in the volume",
           persistentvolumeclaim=["data-pg-0", "data-es-0"]),
    metric("kubelet_volume_stats_capacity_bytes", "gauge", "Capacity in bytes of the volume",
           persistentvolumeclaim=["data-pg-0", "data-es-0"]),
    metric("ebpf_map_pressure", "gauge", "Fill ratio of map, tagged by map name", map_name=["ct4", "lb4"]),
    metric("natsd_varz_connections", "gauge", "connections", instance=["natsd-0:7777", "natsd-1:7777"]),
    metric("natsd_varz_max_connections", "gauge", "max_connections", instance=["natsd-0:7777", "natsd-1:7777"]),
    metric("natsd_varz_cpu", "gauge", "cpu", instance=["natsd-0:7777", "natsd-1:7777"]),
    metric("natsd_varz_mem", "gauge", "mem", instance=["natsd-0:7777", "natsd-1:7777"]),
    metric("collector_exporter_queue_size", "gauge", "Current size of the retry queue (in batches)",
           exporter=["otlp/tempo", "otlphttp/vendor"]),
    metric("collector_exporter_queue_capacity", "gauge", "Fixed capacity of the retry queue (in batches)",
           exporter=["otlp/tempo", "otlphttp/vendor"]),
    metric("volume_operation_duration_seconds", "histogram", "Storage operation duration",
           status=["success", "fail-unknown"], operation_name=["attach", "mount"]),
    metric("ebpf_drop_count_total", "counter", "Total dropped packets, by drop reason",
           reason=["Policy denied", "Stale or unroutable IP"]),
    metric("logstore_request_duration_seconds", "histogram", "Time to serve requests.",
           route=["logstore_api_v1_push", "logstore_api_v1_query_range"]),
    metric("appsrv_requestcount_total", "counter", "App server global requestCount", job=["appsrv"]),
    metric("appsrv_processingtime_total", "counter", "App server global processingTime", job=["appsrv"]),
    metric("appsrv_errorcount_total", "counter", "App server global errorCount", job=["appsrv"]),
    metric("natsd_varz_in_msgs", "counter", "in_msgs", instance=["natsd-0:7777", "natsd-1:7777"]),
    metric("natsd_varz_out_msgs", "counter", "out_msgs", instance=["natsd-0:7777", "natsd-1:7777"]),
    metric("meshagent_errors_warnings_total", "counter", "Number of total errors in agent instances",
           level=["error", "warning"], subsystem=["daemon", "endpoint"]),
    metric("gitops_reconcile_duration_seconds", "histogram", "The duration of a resource reconciliation.",
           kind=["Kustomization", "HelmRelease"], name=["apps", "infra"]),
    metric("ctrl_runtime_reconcile_total", "counter", "Reconciliations per controller",
           controller=["kustomization", "helmrelease"]),
    metric("flow_workflows_count", "gauge", "Number of Workflows by status", job=["flow-workflows"],
           status=["Pending", "Running", "Failed"]),
    metric("flow_workflows_k8s_request_total", "counter", "Number of kubernetes requests executed",
           job=["flow-workflows"], status_code=["200", "500"]),
    metric("kubeagent_running_containers", "gauge", "Number of containers currently running",
           container_state=["running", "exited"]),
    metric("cloudapp_system_info", "gauge", "Meta information about the system.", version=["1.2"]),
    metric("edge_reverse_proxy_upstreams_healthy", "gauge", "Health status of reverse proxy upstreams.",
           job=["edge"], upstream=["10.0.3.11:8080", "10.0.3.12:8080"]),
]



@pytest.mark.parametrize("question, expected", [
    ("metric points per second accepted by the prometheus receiver",
     'sum(rate(collector_receiver_accepted_points_total{receiver="prometheus"}[5m]))'),
    ("metric points per second by receiver", "sum by (receiver) (rate(collector_receiver_accepted_points_total[5m]))"),
])
def test_by_an_agent_filters_by_a_label_grouping(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("which persistent volumes are more than 80% full",
     "(kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes) > 0.8"),
    ("fullest ebpf map", "topk(1, ebpf_map_pressure)"),
    ("how close is natsd-1 to its connection limit",
     'natsd_varz_connections{instance=~"natsd-1:.*"} / natsd_varz_max_connections{instance=~"natsd-1:.*"}'),
    ("exporter queues above 90% of capacity",
     "(collector_exporter_queue_size / collector_exporter_queue_capacity) > 0.9"),
    ("client connections per natsd server", "sum by (instance) (natsd_varz_connections)"),
])
def test_capacity_and_fill(planner, question, expected):
    assert promql(planner, question) == expected


def test_words_every_metric_of_a_system_carries_do_not_make_a_pair(planner):
    """natsd_varz_cpu and natsd_varz_max_connections share natsd and varz only: cpu is not a share of them."""
    plan = planner.plan("is natsd-1 cpu above 80%")
    assert plan.metric == "natsd_varz_cpu" and plan.ratio is None


@pytest.mark.parametrize("question, expected", [
    ("failed volume operations per second",
     'sum(rate(volume_operation_duration_seconds_count{status="fail-unknown"}[5m]))'),
    ("how many packets did ebpf drop because of policy in the last 30 minutes",
     'sum(increase(ebpf_drop_count_total{reason="Policy denied"}[30m]))'),
    ("p99 latency of push requests to the logstore",
     ('histogram_quantile(0.99, sum by (le) (rate(logstore_request_duration_seconds_bucket'
      '{route="logstore_api_v1_push"}[5m])))')),
])
def test_values_with_words_inside(planner, question, expected):
    assert promql(planner, question) == expected


def test_average_time_of_run_together_counters(planner):
    assert promql(planner, "average appsrv request processing time") == \
        "sum(rate(appsrv_processingtime_total[5m])) / sum(rate(appsrv_requestcount_total[5m]))"


def test_a_health_gauge_the_question_names_before_targets_up(planner):
    assert promql(planner, "how many edge upstreams are down") == "count(edge_reverse_proxy_upstreams_healthy == 0)"
    assert promql(planner, "which edge targets are down") == 'up{job="edge"} == 0'


@pytest.mark.parametrize("question, expected", [
    ("natsd messages in per second", "sum(rate(natsd_varz_in_msgs[5m]))"),
    ("natsd messages out per second", "sum(rate(natsd_varz_out_msgs[5m]))"),
    ("meshagent errors per second by subsystem",
     'sum by (subsystem) (rate(meshagent_errors_warnings_total{level="error"}[5m]))'),
])
def test_direction_words_and_label_names_as_written(planner, question, expected):
    assert promql(planner, question) == expected


def test_a_value_is_written_as_this_metric_holds_it(planner):
    """controller="kustomization" on one metric, kind="Kustomization" on the chosen one: the matcher uses the
    chosen metric's own spelling (a matcher with the other case selects nothing)."""
    assert promql(planner, "p95 gitops reconcile time of kustomization resources") == (
        'histogram_quantile(0.95, sum by (le) (rate(gitops_reconcile_duration_seconds_bucket{kind="Kustomization"}[5m])))')


def test_a_state_written_in_another_case_and_a_job_named_like_the_metrics(planner):
    """ "running" is status="Running" here (container_state="running" elsewhere); "flow workflows" names the job
    flow-workflows and is still the words of the flow_workflows_* names (not the targets' up)."""
    assert promql(planner, "how many flow workflows are running") == (
        'sum(flow_workflows_count{job="flow-workflows",status="Running"})')
