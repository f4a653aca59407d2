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
