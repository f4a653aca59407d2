"""Shares whose parts are named differently: a counter of some events over the counter of all of them
(``x_hits_total`` / ``x_requests_total``, JMX-style ``errorcount`` / ``requestcount``), "ratio of A to B", a
label value's share of all ("what percentage of answers are nxdomain", "502 ratio" of a request histogram,
"success rate"), a named failure ("fail with a 500") instead of every failure, a dropped/forwarded pair,
and events counted over a named period. Built on a small catalogue of made-up exporters; no name here is in
the planner's code."""

from __future__ import annotations

import pytest

from ._catalogue_kit import metric, promql

METRICS = [
    metric("proxy_front_hits_total", "counter", "The total number of front cache hits", job=["proxy"]),
    metric("proxy_front_requests_total", "counter", "The total number of front requests", job=["proxy"]),
    metric("proxy_back_requests_total", "counter", "The total number of back requests", job=["proxy"]),
    metric("appsrv_errorcount_total", "counter", "App server global errorCount", job=["appsrv"]),
    metric("appsrv_requestcount_total", "counter", "App server global requestCount", job=["appsrv"]),
    metric("appsrv_bytessent_total", "counter", "App server global bytesSent", job=["appsrv"]),
    metric("mta_smtpd_messages_rejected_total", "counter", "Total number of rejects.", job=["mta"]),
    metric("mta_smtpd_messages_processed_total", "counter", "Total number of messages processed.", job=["mta"]),
    metric("resolver_answer_rcodes_total", "counter", "Answers by response code.",
           rcode=["NOERROR", "NXDOMAIN", "SERVFAIL"]),
    metric("orch_api_request_total", "counter", "Number of api requests executed",
           verb=["Get", "List"], status_code=["200", "409", "500"]),
    metric("edge_request_duration_seconds", "histogram", "Histogram of round-trip request durations.",
           code=["200", "404", "502"], handler=["proxy", "files"]),
    metric("mesh_response_total", "counter", "Total count of HTTP responses.",
           classification=["success", "failure"], deployment=["orders", "cart"]),
    metric("ebpf_drop_count_total", "counter", "Total dropped packets, by drop reason", reason=["Policy denied"]),
    metric("ebpf_forward_count_total", "counter", "Total forwarded packets", direction=["INGRESS", "EGRESS"]),
    metric("webapp_session_created_total", "counter", "Sessions created", context=["/billing", "/shop"]),
]



@pytest.mark.parametrize("question, expected", [
    ("proxy front cache hit ratio",
     "sum(rate(proxy_front_hits_total[5m])) / sum(rate(proxy_front_requests_total[5m]))"),
    ("appsrv error ratio", "sum(rate(appsrv_errorcount_total[5m])) / sum(rate(appsrv_requestcount_total[5m]))"),
    ("ratio of rejected to processed messages in mta",
     "sum(rate(mta_smtpd_messages_rejected_total[5m])) / sum(rate(mta_smtpd_messages_processed_total[5m]))"),
    ("what fraction of packets does ebpf drop",
     ("sum(rate(ebpf_drop_count_total[5m])) / (sum(rate(ebpf_drop_count_total[5m])) + "
      "sum(rate(ebpf_forward_count_total[5m])))")),
])
def test_a_part_over_the_counter_of_all_events(planner, question, expected):
    assert promql(planner, question) == expected


@pytest.mark.parametrize("question, expected", [
    ("what percentage of resolver answers are nxdomain",
     'sum(rate(resolver_answer_rcodes_total{rcode="NXDOMAIN"}[5m])) / sum(rate(resolver_answer_rcodes_total[5m]))'),
    ("share of orch api requests that fail with a 500",
     'sum(rate(orch_api_request_total{status_code="500"}[5m])) / sum(rate(orch_api_request_total[5m]))'),
    ("edge 502 ratio", ('sum(rate(edge_request_duration_seconds_count{code="502"}[5m])) / '
                        'sum(rate(edge_request_duration_seconds_count[5m]))')),
    ("success rate of the orders deployment",
     ('sum(rate(mesh_response_total{classification="success",deployment="orders"}[5m])) / '
      'sum(rate(mesh_response_total{deployment="orders"}[5m]))')),
])
def test_a_named_outcome_over_all_outcomes(planner, question, expected):
    assert promql(planner, question) == expected


def test_an_outcome_named_without_a_share_word_stays_a_rate(planner):
    """ "502s per second" and "orch api requests that fail with a 500 per second" are rates, not shares."""
    assert promql(planner, "orch api requests that fail with a 500 per second") == \
        'sum(rate(orch_api_request_total{status_code="500"}[5m]))'
    assert promql(planner, "edge 502 requests per second") == \
        'sum(rate(edge_request_duration_seconds_count{code="502"}[5m]))'


def test_events_in_a_named_period_are_counted(planner):
    assert promql(planner, "sessions created on the billing context in the last hour") == \
        'sum(increase(webapp_session_created_total{context="/billing"}[1h]))'
