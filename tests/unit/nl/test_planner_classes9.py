"""General classes from held-out set 7's misses, each read from what an exporter's TYPE/HELP/label values say:
gauges that only go up asked "per second" (their rate), 0/1 gauges whose HELP says what 1 means ("disabled",
"can't reach", "did any fail" select 0), enumerated states asked in the negative ("not online", "not healthy"),
"idle" of a utilization gauge, units a metric gives in HELP ("in bytes" read in bits, "[MHz]", "in KB") and
``x_ratio`` gauges that are 0-1 whatever HELP copied, the metric's own "max", the time since a "last ... seconds"
gauge, a host name matched to ``instance`` host:port, a cached/total counter pair, "per <label>" for a label
named by two words, the largest series kept raw in a top-k, "across all X", the word "today" of a per-day gauge.
Built on a small catalogue of made-up exporters; no name here is in the planner's code."""

from __future__ import annotations

import pytest

from ._catalogue_kit import metric, promql

HOSTS = ["gw-a:9091", "gw-b:9091"]
METRICS = [
    metric("msgbus_queue_messages_appended", "gauge", "number of messages appended to this queue since it was created",
           queue=["orders", "mail"], instance=["bus-0:8161"]),
    metric("msgbus_queue_consumers", "gauge", "number of consumers of this queue", queue=["orders", "mail"],
           instance=["bus-0:8161"]),
    metric("relsrv_batch_commands", "gauge", "Number of command batches received per second.",
           instance=["db-1:4000", "db-2:4000"]),
    metric("relsrv_db_state", "gauge", "State of each database (0=online 1=restoring 2=recovering 3=suspect)",
           database=["sales", "hr"], instance=["db-1:4000"]),
    metric("relsrv_file_size", "gauge", "Physical sizes of files used by database in KB", database=["sales", "hr"],
           instance=["db-1:4000"]),
    metric("volmgr_pool_condition", "gauge", "Health status code for the pool [0: ONLINE, 1: DEGRADED, 2: FAULTED]",
           pool=["tank", "backup"], instance=["nas:9134"]),
    metric("volmgr_collector_success", "gauge", "volmgr: Whether a collector succeeded.", collector=["pool", "fs"],
           instance=["nas:9134"]),
    metric("edgegw_config_store_reachable", "gauge", "Config store reachable from the gateway, 0 is unreachable",
           instance=HOSTS),
    metric("edgegw_http_connections", "gauge", "Number of HTTP connections", state=["active", "waiting"],
           instance=HOSTS),
    metric("edgegw_node_info", "gauge", "Info of the gateway node", hostname=["gw-a", "gw-b"], instance=HOSTS),
    metric("edgegw_bandwidth", "counter", "Total bandwidth in bytes consumed per route", type=["ingress", "egress"],
           route=["1", "2"]),
    metric("dnsfilter_status", "gauge", "This represent if the filter is enabled", hostname=["10.0.0.2", "10.0.0.3"]),
    metric("dnsfilter_queries_today", "gauge", "This represent the number of DNS queries made over the current day",
           hostname=["10.0.0.2", "10.0.0.3"]),
    metric("accel_core_busy_ratio", "gauge", "utilization.gpu [%]", uuid=["GPU-1", "GPU-2"]),
    metric("accel_sm_clock_hz", "gauge", "clocks.current.sm [MHz]", uuid=["GPU-1", "GPU-2"]),
    metric("accel_temperature_celsius", "gauge", "temperature of the card", uuid=["GPU-1", "GPU-2"]),
    metric("tunnel_last_handshake_seconds", "gauge", "Seconds from the last handshake", peer=["laptop", "office"]),
    metric("gameserver_tick_duration_max", "gauge", "Max Tick Duration (ns, usually last 100 ticks)",
           instance=["mc-a:9940"]),
    metric("gameserver_chunks_loaded", "gauge", "Chunks loaded per world", world=["world", "nether", "end"],
           instance=["mc-a:9940", "mc-b:9940"]),
    metric("webapp_requests_total", "counter", "Total number of requests.", status_class=["success", "server-error"],
           method=["GET", "POST"]),
    metric("cdnzone_lookups_cached", "counter", "Number of cached lookups for zone", zone=["a.example", "b.example"]),
    metric("cdnzone_lookups_total", "counter", "Number of lookups for zone", zone=["a.example", "b.example"]),
    metric("cistation_build_count", "gauge", "Total number of builds.", instance=["ci:80"]),
    metric("webapp_request_duration_seconds", "histogram", "Request duration.",
           status_class=["success", "server-error"], method=["GET", "POST"]),
    metric("routed_protocol_prefixes_imported", "gauge", "Number of imported routes", ip_version=["4", "6"],
           name=["transit_a", "ix_b"]),
    metric("mqd_queue_backlog", "gauge", "Messages waiting in this queue", queue=["a", "b", "c"], vhost=["/"],
           instance=["mq-0:15692"]),
    metric("svcproc_resident_memory_bytes", "gauge", "Resident memory of the service process",
           service=["cart", "shop", "auth"], instance=["n1:8080", "n2:8080", "n3:8080"]),
]


@pytest.mark.parametrize("question, expected", [
    # a gauge that only goes up ("since it was created", or a command count with no rate word in its name)
    ("messages appended per second to the orders queue",
     'sum(rate(msgbus_queue_messages_appended{queue="orders"}[5m]))'),
    ("relsrv batch commands per second", "sum(rate(relsrv_batch_commands[5m]))"),
    # ... but a gauge of what is there now is no counter, and "how many" asks its value
    ("how many consumers does the mail queue have", 'msgbus_queue_consumers{queue="mail"}'),
])
def test_gauges_that_only_go_up_get_a_rate_when_asked_per_second(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("are any relsrv databases not online?", "relsrv_db_state != 0"),
    ("which volmgr pools are not healthy", "volmgr_pool_condition != 0"),
    ("which volmgr pools are healthy", "volmgr_pool_condition == 0"),
    ("did any volmgr collector fail?", "volmgr_collector_success == 0"),
    ("which edgegw nodes can't reach the config store", "edgegw_config_store_reachable == 0"),
    ("is any dnsfilter disabled", "dnsfilter_status == 0"),
    ("which accel gpus are sitting idle", "accel_core_busy_ratio == 0"),
])
def test_conditions_read_from_help(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("edgegw egress bandwidth in bits per second", 'sum(rate(edgegw_bandwidth{type="egress"}[5m])) * 8'),
    ("accel gpu busy ratio in percent", "accel_core_busy_ratio * 100"),
    ("sm clock of the accel gpus in MHz", "accel_sm_clock_hz / 1000000"),
    ("size of the sales relsrv file in MB", 'relsrv_file_size{database="sales"} * 0.001024'),
    ("what's the max tick duration of the gameserver in ms?", "gameserver_tick_duration_max / 1000000"),
])
def test_units_from_help_and_names(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("seconds since the last tunnel handshake for each peer", "time() - tunnel_last_handshake_seconds"),
    ("which tunnel peers have not had a handshake in over an hour",
     "(time() - tunnel_last_handshake_seconds) > 3600"),
])
def test_time_since_a_last_event_gauge(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("webapp requests per second by status class", "sum by (status_class) (rate(webapp_requests_total[5m]))"),
    ("cdnzone cached lookups ratio per zone", ("sum by (zone) (rate(cdnzone_lookups_cached[5m])) / "
                                               "sum by (zone) (rate(cdnzone_lookups_total[5m]))")),
    ("which world has the most gameserver chunks loaded", "topk(1, gameserver_chunks_loaded)"),
    ("gameserver chunks loaded per world", "sum by (world) (gameserver_chunks_loaded)"),
    ("total gameserver chunks loaded across all worlds", "sum(gameserver_chunks_loaded)"),
    ("the hottest accel gpu right now", "topk(1, accel_temperature_celsius)"),
    ("total number of cistation builds ever", "cistation_build_count"),
    ("how many dns queries today on dnsfilter 10.0.0.2", 'dnsfilter_queries_today{hostname="10.0.0.2"}'),
])
def test_values_groupings_and_pairs(planner, question, expected):
    assert promql(planner, question) == expected


def test_today_of_a_per_day_gauge_is_its_value_now(planner):
    plan = planner.plan("how many dns queries today on dnsfilter 10.0.0.2")
    assert plan.kind == "instant"


def test_a_host_name_selects_the_instance_on_that_host(planner):
    """ "gw-a" is a hostname on one metric and the host of instance="gw-a:9091" on this one: the instance on that
    host, by the value itself or by a host:port regex, never instance="gw-a" (which matches nothing)."""
    assert promql(planner, "waiting edgegw connections on gw-a") in (
        'edgegw_http_connections{instance=~"gw-a:.*",state="waiting"}',
        'edgegw_http_connections{instance="gw-a:9091",state="waiting"}')


def test_value_matcher_turns_a_bare_host_into_a_host_port_regex():
    """The value as another label holds it ("gw-a" of hostname) on a metric whose instance is host:port."""
    from promv5_lab.nl.labels import ValueMatch, value_matcher

    info = METRICS[8]  # edgegw_http_connections: instance gw-a:9091, gw-b:9091
    mt = value_matcher(ValueMatch("gw-a", "gw-a", ("hostname", "instance"), 1.0), info.labels, info)
    assert (mt.label, mt.op, mt.value) == ("instance", "=~", "gw-a:.*")
    # a value the label holds itself stays an equality
    mt = value_matcher(ValueMatch("gw-b:9091", "gw-b:9091", ("instance",), 1.0), info.labels, info)
    assert (mt.label, mt.op, mt.value) == ("instance", "=", "gw-b:9091")


@pytest.mark.parametrize("question, expected", [
    # each queue's series says more than the queue (its vhost): the largest series themselves
    ("top 2 mqd queues by backlog", "topk(2, mqd_queue_backlog)"),
    # one series per service on its one target: the service, summed by it as the convention goes
    ("top 2 services by svcproc resident memory", "topk(2, sum by (service) (svcproc_resident_memory_bytes))"),
])
def test_ranked_gauges_keep_series_that_say_more_than_their_group(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    # errors counted per second: the counter of requests by class, not the duration histogram's _count
    ("webapp server errors per second", 'sum(rate(webapp_requests_total{status_class="server-error"}[5m]))'),
    # "ipv6" names the IP version label's value
    ("ipv6 prefixes imported from transit_a",
     'routed_protocol_prefixes_imported{ip_version="6",name="transit_a"}'),
])
def test_counters_before_histograms_per_second_and_ip_versions(planner, question, expected):
    assert promql(planner, question) == expected
