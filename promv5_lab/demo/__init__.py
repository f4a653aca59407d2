"""The demo world: a deterministic simulated shop with injected incidents (history and live).

Public API (imported lazily, so ``import promv5_lab.demo`` stays cheap)::

    from promv5_lab.demo.simulate import simulate      # (a module of the same name: import it from there)
    from promv5_lab.demo import load_incidents, WORLD, DemoServer, LiveWorld
    summary = simulate("out/demo", days=7, step_s=30, seed=42)   # metrics.om, incidents.json, logs, traces
    incidents = load_incidents("out/demo/incidents.json")
    with DemoServer(port=0, seed=1) as srv: ...                  # live /metrics + /admin API
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "SimulationSummary": "simulate",
    "WORLD": "world",
    "World": "world",
    "load_incidents": "incidents",
    "Incident": "incidents",
    "Symptom": "incidents",
    "CATALOGUE": "incidents",
    "LiveWorld": "live",
    "DemoServer": "server",
    "split_by_time": "openmetrics",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from .incidents import CATALOGUE, Incident, Symptom, load_incidents
    from .live import LiveWorld
    from .openmetrics import split_by_time
    from .server import DemoServer
    from .simulate import SimulationSummary
    from .world import WORLD, World


__getattr__ = lazy_exports(__name__, _LAZY, globals())
