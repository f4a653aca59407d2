"""One table per class of question the held-out sets showed failing, on a small catalogue built here from
real exporters' conventions (node_exporter, blackbox, mysqld, RabbitMQ, Kafka, etcd, CoreDNS, HAProxy,
Envoy, Traefik, kube-state-metrics, the apiserver...). Lexical planner (no model): fast and deterministic.
The planner's code names none of these metrics; each case checks a general rule."""

from __future__ import annotations

import pytest

from promv5_lab.nl.render import render
from promv5_lab.types import Clarification, Comparison, QueryPlan

from ._catalogue_kit import metric as _m
from ._catalogue_kit import promql

NODES = ["web-1:9100", "web-2:9100", "db-1:9100"]


METRICS = [
    _m("node_memory_MemFree_bytes", "gauge", "Memory information field MemFree_bytes.", instance=NODES, job=["node"]),
    _m("node_memory_MemAvailable_bytes", "gauge", "Memory information field MemAvailable_bytes.", instance=NODES,
       job=["node"]),
    _m("node_memory_MemTotal_bytes", "gauge", "Memory information field MemTotal_bytes.", instance=NODES, job=["node"]),
    _m("node_filesystem_avail_bytes", "gauge", "Filesystem space available to non-root users in bytes.",
       instance=NODES, job=["node"], mountpoint=["/", "/var/lib/docker"]),
    _m("node_filesystem_free_bytes", "gauge", "Filesystem free space in bytes.", instance=NODES, job=["node"],
       mountpoint=["/", "/var/lib/docker"]),
    _m("node_filesystem_size_bytes", "gauge", "Filesystem size in bytes.", instance=NODES, job=["node"],
       mountpoint=["/", "/var/lib/docker"]),
    _m("node_load1", "gauge", "1m load average.", instance=NODES, job=["node"]),
    _m("node_load15", "gauge", "15m load average.", instance=NODES, job=["node"]),
    _m("kube_pod_container_status_restarts_total", "counter", "The number of container restarts per container.",
       namespace=["shop"], pod=["cart-1", "search-2"], container=["cart", "search"]),
    _m("kube_node_status_condition", "gauge", "The condition of a cluster node.", node=["k8s-a", "k8s-b"],
       condition=["Ready", "DiskPressure"], status=["true", "false"]),
    _m("probe_success", "gauge", "Displays whether or not the probe was a success", job=["blackbox"],
       instance=["https://shop.example.com", "https://status.example.com"]),
    _m("probe_duration_seconds", "gauge", "Returns how long the probe took to complete in seconds",
       job=["blackbox"], instance=["https://shop.example.com", "https://status.example.com"]),
    _m("traefik_tls_certs_not_after", "gauge", "Certificate expiration timestamp", job=["traefik"],
       instance=["traefik-0:8080"], cn=["shop.example.com"]),
    _m("mysql_slave_status_seconds_behind_master", "gauge", "Generic metric from SHOW SLAVE STATUS.",
       job=["mysql"], instance=["mysql-replica:9104"]),
    _m("mongodb_mongod_replset_member_replication_lag", "gauge",
       "The replication lag that this member has with the primary.", job=["mongodb"], instance=["mongo-0:9216"]),
    _m("mongodb_connections", "gauge", "The number of incoming connections from clients to the database server",
       job=["mongodb"], instance=["mongo-0:9216"], state=["current", "available", "active"]),
    _m("rabbitmq_queue_messages_unacked", "gauge", "Messages delivered to consumers but not yet acknowledged",
       job=["rabbitmq"], instance=["rabbit-0:15692"], queue=["orders", "emails"]),
    _m("rabbitmq_queue_consumers", "gauge", "Consumers on a queue", job=["rabbitmq"], instance=["rabbit-0:15692"],
       queue=["orders", "emails"]),
    _m("rabbitmq_process_resident_memory_bytes", "gauge", "Memory used in bytes", job=["rabbitmq"],
       instance=["rabbit-0:15692"]),
    _m("rabbitmq_resident_memory_limit_bytes", "gauge", "Memory high watermark in bytes", job=["rabbitmq"],
       instance=["rabbit-0:15692"]),
    _m("rabbitmq_disk_space_available_bytes", "gauge", "Disk space available in bytes", job=["rabbitmq"],
       instance=["rabbit-0:15692"]),
    _m("kafka_brokers", "gauge", "Number of Brokers in the Kafka Cluster.", job=["kafka"],
       instance=["kafka-exporter:9308"]),
    _m("kafka_topic_partition_current_offset", "gauge", "Current Offset of a Broker at Topic/Partition",
       job=["kafka"], instance=["kafka-exporter:9308"], topic=["orders"], partition=["0", "1"]),
    _m("jvm_threads_live_threads", "gauge", "The current number of live threads", job=["kafka-jmx"],
       instance=["kafka-2:7071"]),
    _m("etcd_server_is_leader", "gauge", "Whether or not this member is a leader. 1 if is, 0 otherwise.",
       job=["etcd"], instance=["etcd-0:2379", "etcd-1:2379"]),
    _m("etcd_server_proposals_failed_total", "counter", "The total number of failed proposals seen.",
       job=["etcd"], instance=["etcd-0:2379", "etcd-1:2379"]),
    _m("coredns_dns_requests_total", "counter", "Counter of DNS requests made per zone, protocol and family.",
       job=["coredns"], instance=["10.0.0.10:9153"], type=["A", "AAAA"]),
    _m("probe_dns_lookup_time_seconds", "gauge", "Returns the time taken for probe dns lookup in seconds",
       job=["blackbox"], instance=["https://shop.example.com", "https://status.example.com"]),
    _m("elasticsearch_indices_search_query_total", "counter", "Total number of queries", job=["es"],
       instance=["es:9114"], name=["es-data-0", "es-data-1"]),
    _m("elasticsearch_indices_search_query_time_seconds", "counter", "Total search query time in seconds",
       job=["es"], instance=["es:9114"], name=["es-data-0", "es-data-1"]),
    _m("haproxy_backend_http_responses_total", "counter", "Total number of HTTP responses.", job=["haproxy"],
       instance=["lb-1:8405"], proxy=["web_backend", "api_backend"], code=["2xx", "4xx", "5xx", "other"]),
    _m("hikaricp_connections_active", "gauge", "Active connections", job=["orders"], instance=["orders-0:8080"],
       pool=["HikariPool-1"]),
    _m("hikaricp_connections_max", "gauge", "Max connections", job=["orders"], instance=["orders-0:8080"],
       pool=["HikariPool-1"]),
    _m("envoy_cluster_upstream_rq_total", "counter", "", job=["envoy"], instance=["envoy-0:9901"],
       envoy_cluster_name=["users", "inventory"]),
    _m("envoy_cluster_upstream_rq_retry", "counter", "", job=["envoy"], instance=["envoy-0:9901"],
       envoy_cluster_name=["users", "inventory"]),
    _m("envoy_cluster_upstream_rq_xx", "counter", "", job=["envoy"], instance=["envoy-0:9901"],
       envoy_cluster_name=["users", "inventory"], envoy_response_code_class=["2", "4", "5"]),
    _m("envoy_cluster_upstream_cx_active", "gauge", "", job=["envoy"], instance=["envoy-0:9901"],
       envoy_cluster_name=["users", "inventory"]),
    _m("grpc_server_handled_total", "counter", "Total number of RPCs completed on the server.", job=["payments"],
       instance=["payments-0:9090"], grpc_method=["Capture", "Refund"], grpc_code=["OK", "Internal"]),
    _m("traefik_service_request_duration_seconds", "histogram", "How long it took to process the request on a "
       "service.", job=["traefik"], instance=["traefik-0:8080"], service=["shop-frontend-80@kubernetes"]),
    _m("nginx_ingress_controller_requests", "counter", "The total number of client requests", job=["ingress"],
       instance=["10.0.4.2:10254"], status=["200", "404", "500"]),
    _m("apiserver_request_total", "counter", "Counter of apiserver requests broken out for each verb, resource "
       "and HTTP response code.", job=["apiserver"], instance=["10.0.1.1:6443"], verb=["GET", "LIST"],
       resource=["pods", "nodes", "configmaps"], code=["200", "500"]),
    _m("pg_stat_activity_count", "gauge", "number of connections in this state", job=["postgres"],
       instance=["pg:9187"], state=["active", "idle"]),
    _m("pg_settings_max_connections", "gauge", "Sets the maximum number of concurrent connections.",
       job=["postgres"], instance=["pg:9187"]),
    _m("nginx_ingress_controller_nginx_process_connections", "gauge", "current number of client connections "
       "with state {active, reading, writing, waiting}", job=["ingress"], instance=["10.0.4.2:10254"],
       state=["active", "waiting"]),
    _m("kube_deployment_spec_replicas", "gauge", "Number of desired pods for a deployment.",
       job=["kube-state-metrics"], deployment=["cart"]),
    _m("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", job=["coredns", "etcd"],
       instance=["10.0.0.10:9153", "etcd-0:2379"]),
    _m("http_server_requests_seconds", "histogram", "Duration of HTTP server request handling", job=["orders"],
       instance=["orders-0:8080"], uri=["/api/orders"], status=["200", "500"]),
    _m("logback_events_total", "counter", "Number of log events that were enabled by the effective log level",
       job=["orders"], instance=["orders-0:8080"], level=["error", "info"]),
    _m("up", "gauge", "1 if the instance is healthy, i.e. reachable, 0 otherwise.",
       job=["node", "blackbox", "mysql", "rabbitmq"], instance=[*NODES, "rabbit-0:15692"]),
]



_promql = promql


CLASSES = {
    # sibling metrics: "available" memory is MemAvailable (and is preferred for "usage"), not MemFree
    "siblings": [
        ("how much memory is available on db-1", 'node_memory_MemAvailable_bytes{instance=~"db-1:.*"}'),
        ("memory usage on web-2", ('1 - node_memory_MemAvailable_bytes{instance=~"web-2:.*"} / '
                                  'node_memory_MemTotal_bytes{instance=~"web-2:.*"}')),
    ],
    # a path named in passing is a value ("/" is a mountpoint)
    "mountpoint": [
        ("disk space left on / for each host", 'sum by (instance) (node_filesystem_avail_bytes{mountpoint="/"})'),
    ],
    # "which ... the most in the last hour" on a counter: the increase over that hour
    "most-over-window": [
        ("which pods restarted the most in the last hour",
         "topk(1, sum by (pod) (increase(kube_pod_container_status_restarts_total[1h])))"),
    ],
    # ratios whose parts are named differently: time / events, used / capacity (either one chosen first)
    "ratios": [
        ("average search latency in elasticsearch",
         ("sum(rate(elasticsearch_indices_search_query_time_seconds[5m])) / "
         "sum(rate(elasticsearch_indices_search_query_total[5m]))")),
        ("rabbitmq memory usage as a fraction of the high watermark",
         "rabbitmq_process_resident_memory_bytes / rabbitmq_resident_memory_limit_bytes"),
        ("hikari pool usage", "hikaricp_connections_active / hikaricp_connections_max"),
        ("haproxy error ratio", ('sum(rate(haproxy_backend_http_responses_total{code="5xx"}[5m])) / '
                                'sum(rate(haproxy_backend_http_responses_total[5m]))')),
    ],
    # a status code named as a plural ("404s"), a status class ("5xx" on 2/4/5)
    "status-values": [
        ("404s per second", 'sum(rate(nginx_ingress_controller_requests{status="404"}[5m]))'),
        ("envoy 5xx rate for the inventory cluster", ('sum(rate(envoy_cluster_upstream_rq_xx{envoy_cluster_name='
                                                      '"inventory",envoy_response_code_class="5"}[5m]))')),
    ],
    # counting 0/1 health gauges, and which series hold or fail
    "health": [
        ("how many targets are up", "count(up == 1)"),
        ("how many targets are down", "count(up == 0)"),
        ("which of my probes are failing", "probe_success == 0"),
        ("which etcd member is the leader", "etcd_server_is_leader == 1"),
        ("queues with no consumers", "rabbitmq_queue_consumers == 0"),
    ],
    # "load average" is the metric's own word: no avg() around it
    "average-in-name": [
        ("load average", "node_load1"),
        ("15 minute load on web-1", 'node_load15{instance=~"web-1:.*"}'),
    ],
    # the exporter's own word chooses the metric and is not a fuzzy host ("kafka" is not kafka-2)
    "exporter-words": [
        ("mysql replication lag", "mysql_slave_status_seconds_behind_master"),
        ("how many kafka brokers are there", "kafka_brokers"),
        ("free disk space on the rabbit node", 'rabbitmq_disk_space_available_bytes{instance="rabbit-0:15692"}'),
        ("kube-apiserver error rate", 'sum(rate(apiserver_request_total{code=~"5.."}[5m]))'),
    ],
    # groupings: a label word one word later, a label that ends with the word, a word inside the values,
    # a label with several values before one with a single value, "top 3 <label plural>"
    "grouping": [
        ("dns requests by record type", "sum by (type) (rate(coredns_dns_requests_total[5m]))"),
        ("grpc requests per second by method", "sum by (grpc_method) (rate(grpc_server_handled_total[5m]))"),
        ("5xx responses per backend",
         'sum by (proxy) (rate(haproxy_backend_http_responses_total{code="5xx"}[5m]))'),
        ("search queries per second per node",
         "sum by (name) (rate(elasticsearch_indices_search_query_total[5m]))"),
        ("top 2 resources by apiserver request rate",
         "topk(2, sum by (resource) (rate(apiserver_request_total[5m])))"),
    ],
    # values named in other forms: two words for one value, a prefix of a longer value, a host inside a
    # URL when the metric has no label holding the bare name, a common word that is a value of this metric
    "values": [
        ("nodes with disk pressure", 'kube_node_status_condition{condition="DiskPressure",status="true"}'),
        ("p95 latency of the shop-frontend service in traefik", ("histogram_quantile(0.95, sum by (le) (rate("
         'traefik_service_request_duration_seconds_bucket{service="shop-frontend-80@kubernetes"}[5m])))')),
        ("how long does the probe of shop.example.com take",
         'probe_duration_seconds{instance="https://shop.example.com"}'),
        ("current mongodb connections", 'mongodb_connections{state="current"}'),
    ],
    # "used by" is an amount, not a fraction; a value the metric's known values exclude would answer with
    # nothing (job="postgres" on an ingress gauge); a label's name is a grouping, not a piece of a value
    # ("state" in kube-state-metrics); a histogram's _count counts requests (not log events at level=error)
    "amounts-and-values": [
        ("memory used by coredns", 'process_resident_memory_bytes{job="coredns"}'),
        ("number of connections to postgres by state", 'sum by (state) (pg_stat_activity_count{job="postgres"})'),
        ("error rate of the orders api",
         'sum(rate(http_server_requests_seconds_count{job="orders",status=~"5.."}[5m]))'),
    ],
    # "per second" wants a counter; abbreviations in names (unacked, cx); the plain counter before a variant
    "retrieval": [
        ("dns queries per second", "sum(rate(coredns_dns_requests_total[5m]))"),
        ("which queue has the most unacknowledged messages",
         "topk(1, sum by (queue) (rabbitmq_queue_messages_unacked))"),
        ("active upstream connections", "envoy_cluster_upstream_cx_active"),
        ("envoy upstream requests per second per cluster",
         "sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_total[5m]))"),
        ("envoy clusters with fewer than 2 active connections", "envoy_cluster_upstream_cx_active < 2"),
    ],
}


@pytest.mark.parametrize("question,promql", [c for cases in CLASSES.values() for c in cases],
                         ids=[f"{k}:{q}" for k, cases in CLASSES.items() for q, _ in cases])
def test_question_classes(planner, question, promql):
    assert _promql(planner, question) == promql


@pytest.mark.parametrize("question", ["cassandra read latency", "zookeeper outstanding requests"])
def test_an_unknown_system_is_asked_back(planner, question):
    """A first word nothing in the catalogue explains, while the best metric belongs to another system."""
    assert isinstance(planner.plan(question), Clarification)


def test_count_with_a_comparison_counts_the_series_that_pass():
    plan = QueryPlan(metric="up", metric_type="gauge", aggregation="count", by=("job",),
                     comparison=Comparison("==", 0.0))
    assert render(plan) == "count by (job) (up == 0)"
    # any other aggregation still compares the aggregated value
    assert render(QueryPlan(metric="up", aggregation="sum", comparison=Comparison(">", 2.0))) == "sum(up) > 2"
