"""The embedded engine: an in-process, numpy-backed metrics store with a PromQL evaluator that
answers like Prometheus 2.42 (checked by a differential test against the real thing).

    from promv5_lab.backends.embedded import EmbeddedBackend, Store
    backend = EmbeddedBackend.open("out/")          # store.npz if present, else out/metrics.om
    backend.query("sum by (job) (rate(http_requests_total[5m]))")

Modules: ``openmetrics`` (text -> columns), ``storage`` (``Store``: columns, postings, persistence),
``evaluator`` (AST walk, selectors, subqueries), ``functions``/``rangefuncs``/``histograms``,
``aggregations``, ``binops``, ``backend`` (``EmbeddedBackend``), ``server`` (Prometheus HTTP API),
``cli`` (``promv5-lab embedded ...``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .backend import EmbeddedBackend
    from .evaluator import Engine
    from .storage import Store

_LAZY = {"Store": "storage", "Engine": "evaluator", "EmbeddedBackend": "backend"}
__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
