"""Unknown ordinary English words ("sitting", "often") do not make the planner ask back; unknown system names do.

Which words are ordinary comes from the embedding model's word-piece vocabulary (frequent whole words), so these
tests use the embedding planner over a small catalogue built with the shared builder."""

from __future__ import annotations

import pytest

from promv5_lab.nl import embed
from promv5_lab.nl.planner import OfflinePlanner
from promv5_lab.nl.render import render
from promv5_lab.types import Clarification

from ._catalogue_kit import NOW, catalogue, metric

METRICS = [
    metric("worker_queue_backlog", "gauge", "Number of jobs waiting in the queue.", queue=["mailers", "default"],
           instance=["app-1:9394"]),
    metric("worker_jobs_processed_total", "counter", "Total number of jobs processed.", queue=["mailers", "default"],
           instance=["app-1:9394"]),
    metric("http_request_duration_seconds", "histogram", "HTTP request latency.", handler=["/", "/api"],
           instance=["app-1:9394"]),
]


@pytest.fixture(scope="module")
def planners():
    cat = catalogue(METRICS)
    on = OfflinePlanner(cat, now=NOW)
    off = OfflinePlanner(cat, now=NOW)
    off.ordinary_words = False
    return on, off


def test_common_words_are_frequent_english_words_not_system_names():
    emb = embed.get_embedder()
    assert emb is not None, embed.LOAD_ERROR
    common = emb.common_words
    assert {"often", "sitting", "workers", "length"} <= common
    assert not {"cassandra", "jenkins", "kafka", "zookeeper", "elasticsearch"} & common


def test_an_ordinary_unknown_word_no_longer_asks_back(planners):
    on, off = planners
    question = "how many jobs are sitting in the mailers queue?"
    assert "sitting" in on.intent(question).unknown
    assert isinstance(off.plan(question), Clarification)  # the old rule: one unknown word, asked back
    promql = render(on.plan(question))
    assert "worker_queue_backlog" in promql and 'queue="mailers"' in promql


@pytest.mark.parametrize("question", ["cassandra read latency", "zookeeper outstanding requests"])
def test_an_unknown_system_still_asks_back(planners, question):
    on, _ = planners
    assert isinstance(on.plan(question), Clarification)
