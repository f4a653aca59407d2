"""Natural phrasings of analysis questions reach their analysis, with the series words kept for the planner;
every question of the NL benchmarks (plain queries, read from their case files) stays a query."""

from pathlib import Path

import pytest
import yaml

from promv5_lab.nl.routes import classify

DAY = 86400.0
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("question,kind,core", [
    ("is anything weird with payments right now", "anomalies", "payments"),
    ("any spikes in checkout latency?", "anomalies", "checkout latency"),
    ("is checkout behaving normally?", "anomalies", "checkout"),
    ("is latency normal for checkout", "anomalies", "latency checkout"),
    ("is payments acting up?", "anomalies", "payments"),
    ("anything strange going on with redis?", "anomalies", "redis"),
    ("does anything look off right now", "anomalies", ""),
    ("did anything spike in the last 30 minutes", "anomalies", "last 30 minutes"),
    ("how long until the disk is full on node-2", "capacity", "disk node-2 usage"),
    ("how much time before postgres disk is full", "capacity", "postgres disk usage"),
    ("how many days until the disk is full", "capacity", "disk usage"),
    ("at this rate when is the disk full", "capacity", "disk usage"),
    ("how soon will the database disk fill", "capacity", "database disk usage"),
    ("time until disk full on node-3", "capacity", "disk node-3 usage"),
    ("when will cart hit its memory limit", "capacity", "cart memory usage"),
    ("when does the connection pool get exhausted", "capacity", "connection pool usage"),
    ("days left before the disk fills up", "capacity", "disk usage"),
    ("predict checkout traffic tomorrow", "forecast", "checkout traffic"),
    ("what will traffic look like tomorrow", "forecast", "traffic"),
    ("how much traffic will checkout get tomorrow", "forecast", "traffic checkout"),
    ("expected error ratio for the next 12 hours", "forecast", "error ratio"),
    ("estimate tomorrow's request rate", "forecast", "request rate"),
    ("what's the outlook for checkout traffic over the next day", "forecast", "checkout traffic"),
    ("where will latency be in an hour", "forecast", "latency"),
    ("trend of disk usage for the coming days", "forecast", "disk usage"),
    ("what's wrong with checkout", "diagnosis", None),
    ("whats wrong with the frontend", "diagnosis", None),
    ("what's the problem with cart", "diagnosis", None),
    ("explain the latency spike on checkout", "diagnosis", None),
    ("help me troubleshoot checkout", "diagnosis", None),
    ("investigate checkout latency", "diagnosis", None),
    ("find the cause of the outage", "diagnosis", None),
])
def test_natural_variants_are_routed(question, kind, core):
    r = classify(question)
    assert r.kind == kind, r
    if core is not None:
        assert r.question == core


@pytest.mark.parametrize("question,horizon,named", [
    ("predict checkout traffic tomorrow", 2 * DAY, True),
    ("where will latency be in an hour", 3600.0, True),
    ("how soon will the database disk fill", 7 * DAY, False),  # "how soon" asks when; it names no horizon
    ("will we run out of disk space in the next 3 days", 3 * DAY, True),
])
def test_horizons(question, horizon, named):
    r = classify(question)
    assert (r.horizon_s, r.horizon_named) == (horizon, named)


@pytest.mark.parametrize("question", [
    "how full is the disk on node-2", "is the disk on node-3 above 80% full", "space left on the /var/lib/postgresql mount",
    "how much memory is cart using", "how many times did cart restart in the last hour", "what fraction of cache lookups hit",
    "open file descriptors as a percentage of the limit", "requests per second today", "error ratio this week",
    "what is the p95 latency of checkout", "which filesystem is the fullest", "is the service up",
])
def test_look_alike_queries_stay_queries(question):
    assert classify(question).kind == "query"


def test_every_benchmark_question_stays_a_query():
    """The NL benchmarks' cases (dev and held-out) are plain queries: none may be taken for an analysis."""
    questions = []
    for name in ("nl_cases.yaml", "nl_heldout_cases.yaml"):
        data = yaml.safe_load((ROOT / "benchmarks" / name).read_text())
        for case in data["cases"] if isinstance(data, dict) else data:
            questions += [case["question"], *(case.get("context") or [])]
    assert len(questions) >= 250
    routed = [(q, classify(q).kind) for q in questions if classify(q).kind != "query"]
    assert routed == []
