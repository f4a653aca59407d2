"""Questions that ask for an analysis are routed to it; everything else stays a query (a table of phrasings)."""

import pytest

from promv5_lab.nl.routes import classify

DAY = 86400.0


@pytest.mark.parametrize("question,kind,core,horizon", [
    ("anything unusual in the last hour?", "anomalies", None, None),
    ("Is anything weird going on with payments?", "anomalies", "payments", None),
    ("any anomalies in checkout latency since 14:00", "anomalies", "checkout latency", None),
    ("will the disk fill up this week?", "capacity", "disk usage", 7 * DAY),
    ("when will checkout run out of DB connections?", "capacity", "checkout db connections usage", 7 * DAY),
    ("when does node-2 memory get full", "capacity", "node-2 memory usage", 7 * DAY),
    ("will postgres exhaust its connection pool in the next 3 days", "capacity", "postgres", 3 * DAY),
    ("forecast requests per second for the next day", "forecast", "requests per second", DAY),
    ("predict cpu usage for the next 6 hours", "forecast", "cpu usage", 6 * 3600.0),
    ("what will the error ratio be tomorrow", "forecast", "error ratio", 2 * DAY),
    ("why is checkout slow?", "diagnosis", None, None),
    ("what changed at 14:05?", "diagnosis", None, None),
    ("root cause of the payments errors", "diagnosis", None, None),
])
def test_analysis_questions_are_routed(question, kind, core, horizon):
    r = classify(question)
    assert r.kind == kind
    if core is not None:
        assert core in r.question
    if horizon is not None:
        assert r.horizon_s == horizon


@pytest.mark.parametrize("question", [
    "p99 latency of checkout", "error ratio for cart over the last 30 minutes", "disk usage by node",
    "is the error ratio of cart above 5%", "how many requests failed in the last hour", "free memory on node-2",
    "top 5 routes by traffic", "and for payments?", "compare with yesterday", "how full is the disk",
])
def test_plain_queries_stay_queries(question):
    assert classify(question).kind == "query"
