"""Classes of question the third held-out set showed failing, each checked on a small catalogue built here in
the style of real exporters that are in none of the held-out sets (a cache, a process pool, a job queue,
systemd units, a TLS controller, a secrets store, a PHP app). Lexical planner (no model): fast and
deterministic. The planner's code names none of these metrics; each case checks a general rule."""

from __future__ import annotations

import pytest

from promv5_lab.types import Clarification

from ._catalogue_kit import lexical_planner, promql
from ._catalogue_kit import metric as _m

HOSTS = ["edge-a:6081", "edge-b:6081"]


METRICS = [
    # a cache whose lookups carry their outcome as a label
    _m("varnish_lookups_total", "counter", "Cache lookups by operation and result.", job=["varnish"],
       instance=HOSTS, op=["get", "set", "purge"], result=["hit", "miss"]),
    _m("varnish_backend_requests_total", "counter", "Requests sent to backends.", job=["varnish"], instance=HOSTS,
       backend=["loadgen-pool", "api-pool"]),
    _m("varnish_backend_fetches_total", "counter", "Backend fetches by HTTP status.", job=["varnish"],
       instance=HOSTS, status=["200", "429", "503"]),
    _m("varnish_max_connections", "gauge", "Maximum number of client connections allowed.", job=["varnish"],
       instance=HOSTS),
    # a process pool whose gauge counts processes per state
    _m("phpfpm_processes", "gauge", "Pool processes by state.", job=["phpfpm"], instance=["app-1:9253"],
       state=["busy", "idle"]),
    _m("phpfpm_accepted_connections_total", "counter", "Connections accepted by the pool.", job=["phpfpm"],
       instance=["app-1:9253"]),
    # a job queue with one counter per outcome
    _m("resque_jobs_succeeded_total", "counter", "Jobs that completed.", job=["resque"], queue=["mail", "pdf"]),
    _m("resque_jobs_failed_total", "counter", "Jobs that raised.", job=["resque"], queue=["mail", "pdf"]),
    # a counter of all queries next to one of the failed ones (CamelCase names)
    _m("DuckServerEvents_Query", "counter", "Number of queries.", job=["duck"]),
    _m("DuckServerEvents_FailedQuery", "counter", "Number of failed queries.", job=["duck"]),
    # a state set: 1 for the state each unit is in, 0 for the others
    _m("systemd_unit_state", "gauge", "Systemd unit state.", job=["node"], instance=["db-1:9100"],
       name=["nginx.service", "cron.service"], state=["active", "inactive", "activating"]),
    # a condition gauge with True/False/Unknown values
    _m("tlsctl_cert_ready_status", "gauge", "The ready status of the certificate.", job=["tlsctl"],
       name=["shop-tls", "admin-tls"], condition=["True", "False", "Unknown"]),
    # a store that is 1 when unsealed, and 1 on the active member
    _m("secretsd_core_unsealed", "gauge", "secretsd_core_unsealed", job=["secretsd"],
       instance=["sd-0:8200", "sd-1:8200"]),
    _m("secretsd_core_active", "gauge", "secretsd_core_active", job=["secretsd"], instance=["sd-0:8200", "sd-1:8200"]),
    # a counter of time in ms next to a counter of the accesses it sums over
    _m("lighttpd_duration_ms_total", "counter", "Total duration of all requests in ms", job=["lighttpd"],
       instance=["static-1:9117"]),
    _m("lighttpd_accesses_total", "counter", "Total lighttpd accesses", job=["lighttpd"], instance=["static-1:9117"]),
    # histograms with a label named by a plain word ("kind") and a label a "which ..." question names ("view")
    _m("erlang_gc_duration_seconds", "histogram", "Garbage collection duration by kind.", job=["erlang"],
       kind=["minor", "major"], le=["0.01", "0.1", "1", "+Inf"]),
    _m("flask_http_request_duration_seconds", "histogram", "Flask HTTP request duration by view.", job=["shopfront"],
       view=["cart", "checkout"], method=["GET", "POST"], le=["0.1", "1", "+Inf"]),
]


_promql = promql


@pytest.mark.parametrize("question,promql", [
    # a ratio of a selected outcome/state: that selection over all of it (same other matchers)
    ("varnish get hit ratio", ('sum(rate(varnish_lookups_total{op="get",result="hit"}[5m])) / '
                               'sum(rate(varnish_lookups_total{op="get"}[5m]))')),
    ("what fraction of phpfpm processes are busy",
     'sum(phpfpm_processes{state="busy"}) / sum(phpfpm_processes)'),
    # without a ratio word the selected state stays a plain filter
    ("busy phpfpm processes", 'phpfpm_processes{state="busy"}'),
    # the counter of all events found: its failing sibling over it
    ("what fraction of duck queries fail",
     "sum(rate(DuckServerEvents_FailedQuery[5m])) / sum(rate(DuckServerEvents_Query[5m]))"),
    # one counter per outcome: failed / (failed + succeeded)
    ("resque job failure ratio", ('sum(rate(resque_jobs_failed_total[5m])) / (sum(rate(resque_jobs_failed_total[5m]))'
                                  ' + sum(rate(resque_jobs_succeeded_total[5m])))')),
])
def test_ratio_of_a_selected_state_or_outcome(planner, question, promql):
    assert _promql(planner, question) == promql


@pytest.mark.parametrize("question,promql", [
    # a state set: the state named holds where its series is 1
    ("which systemd units are inactive", 'systemd_unit_state{state="inactive"} == 1'),
    # "not ready" on a True/False condition gauge: condition="False" is 1
    ("which certs are not ready", 'tlsctl_cert_ready_status{condition="False"} == 1'),
    # "sealed" asked of an unsealed gauge: 0
    ("is any secretsd node sealed", "secretsd_core_unsealed == 0"),
    # "which X is the active one" of an x_active gauge: 1
    ("which secretsd is the active node", "secretsd_core_active == 1"),
])
def test_zero_one_state_gauges(planner, question, promql):
    assert _promql(planner, question) == promql


def test_state_gauge_counted_is_not_compared(planner):
    # a count over a state set keeps its sum; the comparison is only added to select series
    assert "==" not in _promql(planner, "how many systemd units are inactive")


@pytest.mark.parametrize("question,promql", [
    # "kind" is a stop word in chat, but here it is a label's own name
    ("p99 gc pause in erlang by kind",
     "histogram_quantile(0.99, sum by (le, kind) (rate(erlang_gc_duration_seconds_bucket[5m])))"),
    # the label word two words after "per" ("load" is only a piece of a backend's name)
    ("varnish backend request rate per load balancer instance",
     "sum by (instance) (rate(varnish_backend_requests_total[5m]))"),
    # "which flask views": the label comes after the system's name
    ("which flask views have a p99 latency above 1.5 seconds",
     "histogram_quantile(0.99, sum by (le, view) (rate(flask_http_request_duration_seconds_bucket[5m]))) > 1.5"),
])
def test_grouping_words(planner, question, promql):
    assert _promql(planner, question) == promql


@pytest.mark.parametrize("question", ["varnish get misses per second", "varnsih get misses per secnd"])
def test_plural_names_a_value_and_a_misspelt_system_is_no_filter(planner, question):
    assert _promql(planner, question) == 'sum(rate(varnish_lookups_total{op="get",result="miss"}[5m]))'


def test_rate_limited_is_429(planner):
    assert _promql(planner, "rate limited varnish backend fetches per second") == (
        'sum(rate(varnish_backend_fetches_total{status="429"}[5m]))')


def test_hits_are_accesses(planner):
    assert _promql(planner, "lighttpd hits per second") == "sum(rate(lighttpd_accesses_total[5m]))"


def test_average_duration_over_accesses(planner):
    assert _promql(planner, "average lighttpd request duration") == (
        "sum(rate(lighttpd_duration_ms_total[5m])) / sum(rate(lighttpd_accesses_total[5m]))")


METRICS2 = [
    # several systems, each with its own latency and errors, to ask which one a bare question means
    _m("squid_request_duration_seconds", "histogram", "Squid request duration.", job=["squid"],
       le=["0.1", "1", "+Inf"]),
    _m("squid_errors_total", "counter", "Squid client errors.", job=["squid"]),
    _m("pgbouncer_query_duration_seconds", "histogram", "Query duration through the pooler.", job=["pgbouncer"],
       le=["0.1", "1", "+Inf"]),
    _m("pgbouncer_errors_total", "counter", "Pooler errors.", job=["pgbouncer"]),
    _m("traefikish_request_latency_seconds", "histogram", "Router request latency.", job=["router"],
       le=["0.1", "1", "+Inf"]),
    _m("traefikish_failed_requests_total", "counter", "Router failed requests.", job=["router"]),
    # a current gauge next to its configured maximum; an avg_/max_ pair of gauges
    _m("pgbouncer_client_connections", "gauge", "Client connections.", job=["pgbouncer"],
       instance=["pgb-0:9127", "pgb-1:9127"]),
    _m("pgbouncer_max_client_connections", "gauge", "Maximum client connections allowed.", job=["pgbouncer"],
       instance=["pgb-0:9127", "pgb-1:9127"]),
    _m("squid_avg_service_time", "gauge", "squid_avg_service_time", job=["squid"]),
    _m("squid_max_service_time", "gauge", "squid_max_service_time", job=["squid"]),
    # traffic counters named sent/received, a pending-work gauge, object stores with a bucket label
    _m("objstore_traffic_sent_bytes", "counter", "Bytes sent to clients.", job=["objstore"]),
    _m("objstore_traffic_received_bytes", "counter", "Bytes received from clients.", job=["objstore"]),
    _m("kvstore_secret_count", "gauge", "Secrets per mount.", job=["kvstore"], mount_point=["secret/", "apps/"]),
    _m("objstore_bucket_size_bytes", "gauge", "Bytes stored per bucket.", job=["objstore"],
       bucket=["logs", "backups", "images"]),
    _m("schema_pending_changes", "gauge", "Schema changes not yet applied.", job=["webapp"],
       instance=["web-0:8000", "web-1:8000"]),
    # a queue-length gauge whose queue label holds the system's own name as one value
    _m("beanstalk_queue_length", "gauge", "Jobs ready in a tube.", job=["beanstalk-exporter"],
       queue=["beanstalk", "mails", "thumbs"]),
    # a mesh counter with caller and callee labels; a process metric on an app whose name has two parts
    _m("mesh_requests_total", "counter", "Requests between workloads.", job=["mesh"],
       source=["frontpage-v1", "ratings-v1"], destination=["ratings-v1", "frontpage-v1"],
       code=["200", "503"]),
    _m("process_open_fds", "gauge", "Number of open file descriptors.", job=["shop-ssr"], app=["shop-ssr"]),
    # an info gauge whose sync state is a CamelCase value of several words
    _m("fluxish_app_info", "gauge", "Information about application.", job=["fluxish"], app=["a", "b", "c"],
       sync_state=["Synced", "OutOfSync"]),
    # task names are dotted paths: their last segment is what people call them
    _m("jobq_task_runtime_seconds", "histogram", "Task runtime.", job=["jobq"],
       name=["shop.tasks.resize_image", "shop.tasks.send_mail"], le=["0.1", "1", "+Inf"]),
    _m("host_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.", job=["host"],
       instance=["h-1:9100", "h-2:9100"], mode=["idle", "user", "system"]),
]


@pytest.fixture(scope="module")
def planner2():
    return lexical_planner(METRICS2)


@pytest.mark.parametrize("question", ["show me the latency", "what's the error rate?"])
def test_bare_concept_over_many_systems_asks_which(planner2, question):
    plan = planner2.plan(question)
    assert isinstance(plan, Clarification) and plan.reason == "ambiguous"
    assert len({c.split("_")[0] for c in plan.candidates}) >= 3


def test_bare_concept_with_a_system_named_is_answered(planner2):
    assert _promql(planner2, "squid latency") == (
        "histogram_quantile(0.95, sum by (le) (rate(squid_request_duration_seconds_bucket[5m])))")


@pytest.mark.parametrize("question,promql", [
    # a comparison of an amount: the current count, not its configured maximum
    ("pgbouncer instances with more than 40 client connections", "pgbouncer_client_connections > 40"),
    # "average" names an avg_ gauge
    ("average squid service time", "squid_avg_service_time"),
    # downloads are bytes sent
    ("objstore download traffic per second", "sum(rate(objstore_traffic_sent_bytes[5m]))"),
    # a superlative followed by a label word: the top series
    ("biggest bucket in objstore", "topk(1, objstore_bucket_size_bytes)"),
    # "are there ...": the series where the gauge is above 0
    ("are there pending schema changes", "schema_pending_changes > 0"),
    # the system's own word is a value of the queue label too: the other value named is the one meant
    ("beanstalk queue length for the mails queue", 'beanstalk_queue_length{queue="mails"}'),
    ("beanstalk queue length", "beanstalk_queue_length"),
    # "secrets" loosely names the value "secret/" of the very label grouped by: no filter
    ("kvstore secrets per mount", "sum by (mount_point) (kvstore_secret_count)"),
    # "made by" is not a grouping
    ("503s per second on calls made by frontpage",
     'sum(rate(mesh_requests_total{code="503",source="frontpage-v1"}[5m]))'),
    # a piece of a real value ("ssr" of shop-ssr) is not an unknown app: it names that value
    ("open fds of the ssr app", 'process_open_fds{job="shop-ssr"}'),
    # words with a stop word inside name one value ("out of sync" -> OutOfSync); "how many" adds them up
    ("which fluxish apps are out of sync", 'fluxish_app_info{sync_state="OutOfSync"}'),
    ("how many fluxish apps are out of sync", 'sum(fluxish_app_info{sync_state="OutOfSync"})'),
    # the last segment of a dotted value names it
    ("p95 runtime of the resize_image task",
     'histogram_quantile(0.95, sum by (le) (rate(jobq_task_runtime_seconds_bucket{name="shop.tasks.resize_image"}[5m])))'),
    # "top 2 jobq tasks": the label whose values hold the word "tasks" (shop.tasks.x), the system word between
    ("top 2 jobq tasks by p95 runtime",
     "topk(2, histogram_quantile(0.95, sum by (le, name) (rate(jobq_task_runtime_seconds_bucket[5m]))))"),
    # a cpu mode named: that mode only (not also "all but idle")
    ("user cpu per instance", 'sum by (instance) (rate(host_cpu_seconds_total{mode="user"}[5m]))'),
])
def test_amounts_words_and_values(planner2, question, promql):
    assert _promql(planner2, question) == promql
