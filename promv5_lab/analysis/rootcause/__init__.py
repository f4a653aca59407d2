"""Root cause across metrics, logs and traces, with the evidence shown.

Public API (imported lazily, so ``import promv5_lab.analysis.rootcause`` stays cheap)::

    from promv5_lab.analysis.rootcause import diagnose
    d = diagnose(backend, at, logs=open_logs(DIR), traces=open_traces(DIR))   # -> types.Diagnosis
    d.top.service, d.top.kind, d.top.confidence, d.top.evidence, d.timeline, d.symptoms

Modules: :mod:`.signals` (golden signals from the catalogue, anomalies, change events), :mod:`.logs`
(drain3 templates and surges), :mod:`.traces` (dependency graph, self-time, error origins), :mod:`.rank`
(candidates and confidences), :mod:`.diagnosis` (the orchestration), :mod:`.cli` (``investigate``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

_LAZY = {
    "diagnose": "diagnosis",
    "template_surges": "logs",
    "mine_templates": "logs",
    "dependency_graph": "traces",
    "self_times": "traces",
    "error_paths": "traces",
    "diagnosis_to_json": "report",
}

__all__ = ["dependency_graph", "diagnose", "diagnosis_to_json", "error_paths", "mine_templates", "self_times",
           "template_surges"]

if TYPE_CHECKING:  # pragma: no cover
    from .diagnosis import diagnose
    from .logs import mine_templates, template_surges
    from .report import diagnosis_to_json
    from .traces import dependency_graph, error_paths, self_times

__getattr__ = lazy_exports(__name__, _LAZY, globals())
