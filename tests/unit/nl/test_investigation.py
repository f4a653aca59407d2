"""The orchestrator over the embedded engine: answers, follow-ups, recall, suggest, errors as answers."""

import json

import pytest

from promv5_lab.investigation import Investigation

from .conftest import NOW


@pytest.fixture()
def inv(exporters_backend, exporters_planner):
    return Investigation(exporters_backend, now=NOW, planner=exporters_planner)


def test_ask_answers_with_promql_result_and_sentence(inv):
    ans = inv.ask("requests per second by status code over the last 30 minutes")
    assert ans.error is None and ans.clarification is None
    assert ans.promql == "sum by (code) (rate(http_requests_total[5m]))"
    assert ans.plan.kind == "range" and ans.result.series_count == 2
    assert "2 series" in ans.answer and "code=" in ans.answer
    out = json.loads(json.dumps(ans.to_json()))
    assert {"promql", "kind", "start", "end", "step", "answer", "confidence", "series"} <= set(out)
    assert out["start"] == "2026-11-20T11:30:00+00:00" and out["step"] == 8.0
    assert {s["labels"]["code"] for s in out["series"]} == {"200", "500"}


def test_follow_ups_recall_and_suggest(inv):
    first = inv.ask("p95 latency of /api/cart")
    assert 'handler="/api/cart"' in first.promql and "ms" in first.answer
    second = inv.ask("and for /api/orders?")
    assert 'handler="/api/orders"' in second.promql and second.plan.metric == first.plan.metric
    third = inv.ask("over the last 20 minutes instead")
    assert third.plan.kind == "range" and third.plan.range.seconds == 1200
    assert 'handler="/api/orders"' in third.promql
    assert inv.ask("compare with yesterday").plan.compare_offset_s == 86400
    inv.ask("memory of the worker container")
    recalled = inv.recall("latency")
    assert recalled and all("latency" in a.question or "duration" in (a.promql or "") for a in recalled)
    assert recalled[-1] is first
    assert inv.recall("memory")[0].plan.metric == "container_memory_working_set_bytes"
    sugg = inv.suggest()
    assert "forecast this" in sugg and "over the last 6 hours" in sugg


def test_clarification_is_an_answer_not_an_error(inv):
    ans = inv.ask("kafka consumer lag")
    assert ans.plan is None and ans.promql is None and ans.clarification.candidates
    assert ans.to_json()["clarification"]["reason"] == "unknown"


def test_backend_errors_become_answers(exporters_planner):
    from promv5_lab.errors import QueryError

    class Failing:
        name = "failing"

        def query(self, promql, time=None):
            raise QueryError("boom", promql=promql)

        query_range = query

    ans = Investigation(Failing(), now=NOW, planner=exporters_planner).ask("p99 latency by handler")
    assert ans.error and "boom" in ans.answer and ans.promql.startswith("histogram_quantile(0.99")
