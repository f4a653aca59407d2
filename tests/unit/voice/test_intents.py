"""Text -> intent and the question for the planner (pure; a small catalogue)."""

import pytest

from promv5_lab.errors import InputError
from promv5_lab.voice import intent
from promv5_lab.voice.intents import spoken_numbers


@pytest.mark.parametrize("text, kind, question", [
    ("what is the p ninety five latency of checkout over the last hour", "query",
     "what is the p95 latency of checkout over the last hour"),
    ("show me the error rate by service", "query", "show me the error rate by service"),
    ("tell me when checkout errors go above five percent", "alert", "error ratio of checkout"),
    ("alert me if the p ninety nine latency of payments goes over two hundred milliseconds", "alert",
     "p99 latency of payments"),
    ("let me know when queue depth exceeds one hundred", "alert", "queue depth"),
    ("why is payments slow", "investigate", "p95 latency of payments over the last hour"),
    ("what's wrong with checkout", "investigate", "error ratio of checkout over the last hour"),
    ("investigate order fulfilment queue depth", "investigate", "queue depth of order-fulfilment over the last hour"),
    ("write an incident report for checkout", "report", "error ratio of checkout over the last hour"),
    ("summarize the last hour", "report", "error ratio by service over the last hour"),
    ("restart the frontend", "remediate", "error ratio of frontend over the last hour"),
    ("roll back the checkout deployment", "remediate", "error ratio of checkout over the last hour"),
])
def test_intent_table(catalogue, text, kind, question):
    vi = intent(text, catalogue)
    assert (vi.kind, vi.question) == (kind, question)


def test_alert_slots(catalogue):
    vi = intent("tell me when checkout errors go above five percent", catalogue)
    assert vi.slots["threshold"] == {"op": ">", "value": 5.0, "unit": "%"}
    assert vi.slots["target"] == "checkout" and vi.slots["targets"][0] == {"label": "service", "value": "checkout"}
    low = intent("warn me if the request rate of cart drops below point five", catalogue)
    assert low.slots["threshold"] == {"op": "<", "value": 0.5, "unit": ""}


def test_longest_value_wins(catalogue):
    vi = intent("what's wrong with cart items", catalogue)
    assert vi.slots["target"] == "/cart/items"


def test_remediation_is_only_proposed(catalogue):
    vi = intent("approve the rollback of checkout", catalogue)
    assert vi.kind == "remediate" and vi.slots["approved"] is False and vi.slots["proposal_only"] is True


@pytest.mark.parametrize("spoken, written", [
    ("p ninety five", "p95"), ("five percent", "5%"), ("two hundred milliseconds", "200 milliseconds"),
    ("one point five seconds", "1.5 seconds"), ("a hundred", "100"), ("twenty one and two", "21 and 2"),
    ("a lot of errors", "a lot of errors"), ("last half an hour", "last 30 minutes"),
])
def test_spoken_numbers(spoken, written):
    assert spoken_numbers(spoken) == written


@pytest.mark.parametrize("bad", ["", "   ", "x" * 600])
def test_bad_text(bad):
    with pytest.raises(InputError):
        intent(bad)


def test_typed_markup_is_plain_text(catalogue):
    vi = intent("show {{ config }} `rm -rf /` latency; of checkout", catalogue)
    assert vi.kind == "query" and "`" not in vi.question and ";" not in vi.question
