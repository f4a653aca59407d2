"""The learned metric reranker (promv5_lab/nl/rerank.py): shipped weights, reordering, clean fallbacks."""

from __future__ import annotations

import json
import logging

import pytest

from promv5_lab.errors import ConfigError
from promv5_lab.nl import rerank
from promv5_lab.nl.rerank import FEATURES, TOP_K, WEIGHTS_PATH, Reranker, candidate_features

from ._catalogue_kit import catalogue, metric


def test_shipped_weights_load_and_are_small():
    model = Reranker.load(WEIGHTS_PATH)
    assert len(model.weights) == len(FEATURES)
    assert any(abs(w) > 1e-3 for w in model.weights[1:])  # learned, not the rule order's one-hot start
    assert WEIGHTS_PATH.stat().st_size < 20_000
    assert rerank.load_shipped() is not None


@pytest.mark.parametrize("content, needle", [
    (None, "cannot read"),
    ("{not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({"features": ["x"], "weights": [1.0], "mean": [0.0], "scale": [1.0]}), "other features"),
    (json.dumps({"features": list(FEATURES), "weights": [1.0], "mean": [0.0], "scale": [1.0]}), "weights for"),
    (json.dumps({"features": list(FEATURES), "weights": [float("nan")] * len(FEATURES),
                 "mean": [0.0] * len(FEATURES), "scale": [1.0] * len(FEATURES)}), "non-finite"),
    (json.dumps({"features": list(FEATURES)}), "malformed"),
])
def test_bad_weights_raise_a_config_error_naming_the_file(tmp_path, content, needle):
    path = tmp_path / "w.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as err:
        Reranker.load(path)
    assert needle in err.value.message
    assert "nl_train.py" in (err.value.hint or "")


def test_missing_weights_fall_back_to_the_rule_order_with_a_warning(tmp_path, monkeypatch, caplog):
    from promv5_lab.nl.planner import OfflinePlanner
    from promv5_lab.nl.render import render

    from ._catalogue_kit import NOW

    monkeypatch.setattr(rerank, "WEIGHTS_PATH", tmp_path / "missing.json")
    monkeypatch.setattr(rerank, "_SHIPPED", [])
    cat = catalogue([metric("node_load1", "gauge", "1m load average.", instance=["a:9100"])])
    with caplog.at_level(logging.WARNING, logger="promv5_lab.nl.rerank"):
        planner = OfflinePlanner(cat, now=NOW, use_embeddings=False)
    assert planner.reranker is None
    assert "reranker off" in caplog.text and "missing.json" in caplog.text
    assert render(planner.plan("load average")) == "node_load1"


def test_reorder_moves_names_and_keeps_the_scores_by_position(exporters_planner):
    planner = exporters_planner
    it = planner.intent("how much memory does each container use")
    ranked = [(0.9, "node_load1"), (0.8, "container_memory_working_set_bytes"), (0.1, "up")]
    parts = {n: {"lex": 0.5, "bonus": 0.0, "cos": 0.3} for _, n in ranked}
    rows = candidate_features(planner, it, [n for _, n in ranked], [s for s, _ in ranked], parts)
    assert len(rows) == 3 and all(len(r) == len(FEATURES) for r in rows)
    # a model that only looks at how much of the question the name says
    w = [0.0] * len(FEATURES)
    w[FEATURES.index("name_cov")] = 1.0
    model = Reranker(tuple(w), (0.0,) * len(FEATURES), (1.0,) * len(FEATURES))
    out = model.reorder(planner, it, ranked, parts)
    assert next(n for _, n in out) == "container_memory_working_set_bytes"
    assert [s for s, _ in out] == [0.9, 0.8, 0.1]
    assert len(out) == len(ranked) and TOP_K >= 3


HAPROXY = [  # HAProxy's own exporter names and HELP (a catalogue the shared builder makes)
    ("haproxy_frontend_http_requests_total", "counter", "Total number of HTTP requests received.", "http-in"),
    ("haproxy_backend_current_queue", "gauge", "Current number of queued requests.", "backend"),
    ("haproxy_backend_http_responses_total", "counter", "Total number of HTTP responses.", "backend"),
    ("haproxy_backend_connection_errors_total", "counter", "Total number of connection errors.", "backend"),
    ("haproxy_frontend_bytes_out_total", "counter", "Current total of outgoing bytes.", "http-in"),
    ("haproxy_frontend_bytes_in_total", "counter", "Current total of incoming bytes.", "http-in"),
    ("haproxy_backend_response_time_average_seconds", "gauge",
     "Avg. response time for last 1024 successful connections.", "backend"),
    ("haproxy_frontend_current_sessions", "gauge", "Current number of active sessions.", "http-in"),
    ("haproxy_backend_active_servers", "gauge", "Current number of active servers.", "backend"),
    ("haproxy_frontend_limit_sessions", "gauge", "Configured session limit.", "http-in"),
]


def test_shipped_weights_fix_a_question_the_rule_order_gets_wrong():
    """'requests queued': the rule order takes the requests counter (the word 'requests'); the learned
    features (HELP says 'queued requests', a gauge, nothing asks per second) put the queue gauge first."""
    from promv5_lab.nl.planner import OfflinePlanner
    from promv5_lab.nl.render import render

    from ._catalogue_kit import NOW

    metrics = [metric(n, t, h, instance=["lb-1:8405"], job=["haproxy"],
                      proxy=["api_backend", "web_backend"] if p == "backend" else ["http-in"])
               for n, t, h, p in HAPROXY]
    cat = catalogue(metrics)
    rules = OfflinePlanner(cat, now=NOW, rerank=False)
    learned = OfflinePlanner(cat, now=NOW)
    assert learned.reranker is not None and rules.reranker is None
    question = "requests queued in haproxy"
    assert rules.score_metrics(rules.intent(question))[0][1] == "haproxy_frontend_http_requests_total"
    assert learned.score_metrics(learned.intent(question))[0][1] == "haproxy_backend_current_queue"
    assert "haproxy_backend_current_queue" in render(learned.plan(question))
