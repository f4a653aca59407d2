"""The LLM planner against a fake OpenAI-compatible server (stdlib, loopback, ``tests/fakes/chat.py``) speaking
chat-completions."""

import json

import pytest
from fakes.chat import FakeChat

from promv5_lab.nl.llm import LLMPlanner
from promv5_lab.nl.render import render
from promv5_lab.types import Clarification, QueryPlan


@pytest.fixture()
def fake():
    f = FakeChat()
    yield f
    f.close()


def planner(fake, exporters_planner):
    return LLMPlanner(exporters_planner, base_url=fake.url, model="tiny", api_key="sk-test", timeout_s=5)


def test_valid_answer_is_validated_into_a_plan(fake, exporters_planner):
    fake.replies.append((200, "```json\n" + json.dumps({
        "metric": "http_requests_total", "transform": "rate", "aggregation": "sum", "by": ["handler"],
        "matchers": [{"label": "code", "op": "=~", "value": "5.."}], "range": {"start": "2026-11-20T11:00:00Z",
                                                                              "end": "2026-11-20T12:00:00Z"}}) + "\n```"))
    plan = planner(fake, exporters_planner).plan("5xx per handler in the last hour")
    assert isinstance(plan, QueryPlan) and plan.notes == ("planned by tiny",)
    assert render(plan) == 'sum by (handler) (rate(http_requests_total{code=~"5.."}[5m]))'
    assert plan.kind == "range" and plan.range.step_s == 15
    req = fake.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test"
    assert req["body"]["model"] == "tiny" and req["body"]["messages"][0]["role"] == "system"
    assert "http_requests_total" in req["body"]["messages"][1]["content"]  # grounded in the catalogue


@pytest.mark.parametrize("status,content,why", [
    (200, "I think you want rate(http_requests_total[5m])", "not JSON"),
    (200, json.dumps({"metric": "kafka_consumer_lag", "transform": "value"}), "not in the catalogue"),
    (200, json.dumps({"metric": "up", "transform": "value", "by": ["pod"]}), "cannot group"),
    (200, json.dumps({"metric": "up", "transform": "quantile"}), "needs a histogram"),
    (500, "{}", "HTTP 500 from the LLM endpoint"),
    (200, b"<html>502 Bad Gateway</html>", "not a chat-completions response"),
])
def test_invalid_answers_fall_back_to_the_offline_plan(fake, exporters_planner, status, content, why):
    fake.replies.append((status, content))
    plan = planner(fake, exporters_planner).plan("p99 latency by handler")
    assert isinstance(plan, QueryPlan)
    assert render(plan) == render(exporters_planner.plan("p99 latency by handler"))
    assert why in plan.notes[-1]


def test_clarification_from_the_model_keeps_only_real_candidates(fake, exporters_planner):
    fake.replies.append((200, json.dumps({"clarify": {"message": "Which lag?",
                                                      "candidates": ["kafka_lag", "node_load1"]}})))
    out = planner(fake, exporters_planner).plan("how laggy is it")
    assert isinstance(out, Clarification) and out.candidates == ("node_load1",)


def test_unreachable_endpoint_falls_back(exporters_planner):
    p = LLMPlanner(exporters_planner, base_url="http://127.0.0.1:9", model="m", timeout_s=2)
    plan = p.plan("requests per second by status code")
    assert isinstance(plan, QueryPlan) and "offline plan" in plan.notes[-1]
