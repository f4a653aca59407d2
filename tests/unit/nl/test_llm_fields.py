"""The LLM planner can emit every QueryPlan field the offline planner does (a Unix-time reading, a unit scale, an
offset), validated strictly: an unknown key or value falls back to the offline plan with a note.

Against the fake OpenAI-compatible server (``tests/fakes/chat.py``, the documented chat-completions wire format;
no model runs here) and a small lexical catalogue of exporter metrics the planner has not seen.
"""

import dataclasses
import json
import math
import re

import pytest
from fakes.chat import FakeChat

from promv5_lab.nl.llm import FIELDS, SYSTEM, LLMPlanner
from promv5_lab.nl.render import render
from promv5_lab.types import QueryPlan

from ._catalogue_kit import lexical_planner, metric

METRICS = [
    metric("probe_ssl_earliest_cert_expiry", "gauge", "Returns last SSL chain expiry in unixtime",
           instance=["https://shop.example.com", "https://api.example.com"], job=["blackbox"]),
    metric("backup_last_success_timestamp_seconds", "gauge", "Unix time of the last successful backup.",
           job=["backup"], volume=["db", "media"]),
    metric("node_network_receive_bytes_total", "counter", "Network device statistic receive_bytes.",
           instance=["host1:9100", "host2:9100"], device=["eth0", "lo"]),
    metric("node_memory_MemAvailable_bytes", "gauge", "Memory information field MemAvailable_bytes.",
           instance=["host1:9100", "host2:9100"]),
    metric("http_requests_total", "counter", "Total HTTP requests.", handler=["/api/cart", "/api/orders"],
           code=["200", "500"]),
]

# What a correct model answers, and the PromQL it must render to
CASES = [
    ("which certificates expire in the next 14 days",
     {"metric": "probe_ssl_earliest_cert_expiry", "transform": "value", "timestamp": "until",
      "comparison": {"op": "<", "value": 1209600}},
     "(probe_ssl_earliest_cert_expiry - time()) < 1209600"),
    ("how long since the last successful backup of db",
     {"metric": "backup_last_success_timestamp_seconds", "timestamp": "since",
      "matchers": [{"label": "volume", "op": "=", "value": "db"}]},
     'time() - backup_last_success_timestamp_seconds{volume="db"}'),
    ("network receive in bits per second by instance",
     {"metric": "node_network_receive_bytes_total", "transform": "rate", "aggregation": "sum", "by": ["instance"],
      "scale": 8},
     "sum by (instance) (rate(node_network_receive_bytes_total[5m])) * 8"),
    ("available memory in GB on host1",
     {"metric": "node_memory_MemAvailable_bytes", "scale": 1e-9,
      "matchers": [{"label": "instance", "op": "=", "value": "host1:9100"}]},
     'node_memory_MemAvailable_bytes{instance="host1:9100"} / 1000000000'),
    ("5xx per second by handler an hour ago",
     {"metric": "http_requests_total", "transform": "rate", "aggregation": "sum", "by": ["handler"],
      "matchers": [{"label": "code", "op": "=~", "value": "5.."}], "offset": "1h"},
     'sum by (handler) (rate(http_requests_total{code=~"5.."}[5m] offset 1h))'),
]


@pytest.fixture(scope="module")
def offline():
    return lexical_planner(METRICS)


@pytest.fixture()
def fake():
    f = FakeChat()
    yield f
    f.close()


def llm(fake, offline):
    return LLMPlanner(offline, base_url=fake.url, model="tiny", timeout_s=5)


def test_schema_covers_every_plan_field_a_model_can_choose():
    """A field added to QueryPlan later fails here until the LLM schema (FIELDS and SYSTEM) says how to fill it."""
    derived = {"metric_type", "kind", "question", "confidence", "alternatives", "notes"}
    plan_fields = {f.name for f in dataclasses.fields(QueryPlan)}
    assert set(FIELDS.values()) == plan_fields - derived
    for key in FIELDS:
        assert re.search(rf"\b{key}\s*[(,]", SYSTEM), f"SYSTEM does not describe {key!r}"


@pytest.mark.parametrize("question,answer,promql", CASES, ids=[c[0] for c in CASES])
def test_model_answer_with_new_fields_renders_the_promql(fake, offline, question, answer, promql):
    fake.replies.append((200, json.dumps(answer)))
    plan = llm(fake, offline).plan(question)
    assert isinstance(plan, QueryPlan) and plan.notes == ("planned by tiny",), plan
    assert render(plan) == promql
    system = fake.requests[0]["body"]["messages"][0]["content"]
    assert "timestamp" in system and "scale" in system and "offset" in system


@pytest.mark.parametrize("question", [c[0] for c in CASES[:4]])
def test_the_llm_path_can_say_what_the_offline_planner_says(fake, offline, question):
    """The model answer built from the offline plan's own fields validates back into the same PromQL: nothing the
    offline planner emits is out of the LLM schema's reach."""
    ref = offline.plan(question)
    assert isinstance(ref, QueryPlan)
    answer = {"metric": ref.metric, "transform": ref.transform, "aggregation": ref.aggregation, "by": list(ref.by),
              "matchers": [dataclasses.asdict(m) for m in ref.matchers], "timestamp": ref.timestamp,
              "scale": ref.scale, "topk": ref.topk, "bottomk": ref.bottomk, "quantile": ref.quantile,
              "comparison": dataclasses.asdict(ref.comparison) if ref.comparison else None}
    assert ref.timestamp is not None or ref.scale != 1.0  # the cases exercise the new fields
    fake.replies.append((200, json.dumps(answer)))
    plan = llm(fake, offline).plan(question)
    assert "planned by tiny" in plan.notes and render(plan) == render(ref)


BAD = [
    ({"timestamp": "later"}, "unknown timestamp reading 'later'"),
    ({"timestamp": True}, "unknown timestamp reading True"),
    ({"scale": "8"}, "scale must be a finite number"),
    ({"scale": True}, "scale must be a finite number"),
    ({"scale": 0}, "not a unit change"),
    ({"scale": -8}, "not a unit change"),
    ({"scale": 1e30}, "not a unit change"),
    ({"offset": "yesterday"}, "offset: Cannot read duration"),
    ({"offset": -3600}, "offset: Duration"),
    ({"scale_factor": 8}, "unknown key(s) ['scale_factor']"),
    ({"topk": 2.5}, "topk must be a positive whole number"),
    ({"comparison": {"op": ">", "value": "80%"}}, "comparison value must be a finite number"),
    ({"comparison": {"op": ">", "value": 1, "unit": "%"}}, "unknown key(s) ['unit'] in comparison"),
    ({"by": "instance"}, "by must be a list of label names"),
    ({"transform": ["rate"]}, "unknown transform ['rate']"),
    ({"aggregation": {"op": "sum"}}, "unknown aggregation {'op': 'sum'}"),
    ({"timestamp": ["until"]}, "unknown timestamp reading ['until']"),
]


@pytest.mark.parametrize("extra,why", BAD, ids=[w for _, w in BAD])
def test_unknown_values_fall_back_to_the_offline_plan_with_a_note(fake, offline, extra, why):
    question = "network receive in bits per second by instance"
    answer = {"metric": "node_network_receive_bytes_total", "transform": "rate", "aggregation": "sum",
              "by": ["instance"], **extra}
    fake.replies.append((200, json.dumps(answer)))
    plan = llm(fake, offline).plan(question)
    assert isinstance(plan, QueryPlan)
    assert render(plan) == render(offline.plan(question))
    assert "offline plan" in plan.notes[-1] and why in plan.notes[-1], plan.notes


@pytest.mark.parametrize("answer,why", [
    ({"metric": "node_network_receive_bytes_total", "transform": "rate", "timestamp": "since"},
     "reads a gauge's own value as a Unix time; node_network_receive_bytes_total is a counter"),
    ({"metric": "probe_ssl_earliest_cert_expiry", "transform": "value", "timestamp": "until", "scale": 1 / 86400},
     "a timestamp reading is in seconds: it takes no scale"),
    ({"metric": "probe_ssl_earliest_cert_expiry", "transform": "value", "timestamp": "until",
      "ratio": {"denominator_metric": "node_memory_MemAvailable_bytes"}}, "and a ratio"),
])
def test_a_timestamp_reading_only_of_a_plain_gauge(fake, offline, answer, why):
    question = "which certificates expire in the next 14 days"
    fake.replies.append((200, json.dumps(answer)))
    plan = llm(fake, offline).plan(question)
    assert render(plan) == render(offline.plan(question)) and why in plan.notes[-1], plan.notes


def test_nan_scale_is_refused(fake, offline):
    """Python's json writes NaN (not JSON, but some servers send it): the validator refuses it too."""
    question = "network receive in bits per second by instance"
    fake.replies.append((200, json.dumps({"metric": "node_network_receive_bytes_total", "transform": "rate",
                                          "scale": math.nan})))
    plan = llm(fake, offline).plan(question)
    assert render(plan) == render(offline.plan(question)) and "offline plan" in plan.notes[-1]


def test_previous_plan_carries_the_reading_for_follow_ups(fake, offline):
    """A follow-up ("and for host2?") sends the previous plan with its timestamp and scale, as JSON data."""
    first = offline.plan("network receive in bits per second by instance")
    assert isinstance(first, QueryPlan) and first.scale == 8.0
    fake.replies.append((200, json.dumps({"metric": "node_network_receive_bytes_total", "transform": "rate",
                                          "scale": 8, "matchers": [{"label": "instance", "value": "host2:9100"}]})))
    plan = llm(fake, offline).plan("and for host2?", first)
    assert render(plan) == 'rate(node_network_receive_bytes_total{instance="host2:9100"}[5m]) * 8'
    user = fake.requests[0]["body"]["messages"][1]["content"]
    prev = json.loads(next(x for x in user.splitlines() if x.startswith("previous plan: ")).split(": ", 1)[1])
    assert prev["scale"] == 8.0 and prev["timestamp"] is None and prev["promql"].endswith("* 8")
