"""Plain language -> :class:`~promv5_lab.types.QueryPlan` -> PromQL, offline.

``Catalogue.from_backend(backend)`` snapshots what exists; ``OfflinePlanner(catalogue).plan(question)``
returns a ``QueryPlan`` or a ``Clarification``; ``render(plan)`` is the PromQL (a pure function).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {"Catalogue": "catalogue", "catalogue_for": "catalogue", "OfflinePlanner": "planner",
         "Planner": "planner", "render": "render", "LLMPlanner": "llm"}
__all__ = ["Catalogue", "LLMPlanner", "OfflinePlanner", "Planner", "catalogue_for", "render"]

if TYPE_CHECKING:  # pragma: no cover
    from .catalogue import Catalogue, catalogue_for
    from .llm import LLMPlanner
    from .planner import OfflinePlanner, Planner
    from .render import render


__getattr__ = lazy_exports(__name__, _LAZY, globals())
