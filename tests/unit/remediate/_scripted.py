"""A MetricsBackend double for the loop's logic: each PromQL answers a scripted Prometheus vector.

Frames are built by ``frames.from_prometheus`` from Prometheus's own JSON result shape, so they look
exactly like a real backend's. Integration tests run the loop against a real Prometheus."""

from __future__ import annotations

import time
from collections.abc import Callable

from promv5_lab.frames import from_prometheus
from promv5_lab.types import Provenance, QueryResult

Rows = list[tuple[dict[str, str], float]]


class ScriptedBackend:
    name = "scripted"

    def __init__(self, answers: dict[str, Rows | Callable[[], Rows]] | None = None) -> None:
        self.answers = dict(answers or {})
        self.queries: list[str] = []

    def query(self, promql, time_=None):
        self.queries.append(promql)
        rows = self.answers.get(promql, [])
        rows = rows() if callable(rows) else rows
        result = [{"metric": labels, "value": [time.time(), str(v)]} for labels, v in rows]
        return QueryResult(from_prometheus("vector", result), "vector", Provenance(promql, self.name, "instant"))

    def query_range(self, promql, time_range):  # pragma: no cover - not used by these tests
        raise NotImplementedError
