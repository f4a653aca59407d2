"""Telemetry backends: a live Prometheus-compatible server, and (later) the embedded engine.

:func:`open_backend` is the one way entry points turn ``--backend URL`` / ``--data DIR`` into a backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import MetricCatalogue, MetricsBackend, RuleSource

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Settings

__all__ = ["MetricsBackend", "MetricCatalogue", "RuleSource", "open_backend"]


def open_backend(settings: Settings) -> MetricsBackend:
    """The backend the settings name: ``backend_url`` -> Prometheus API client."""
    from ..errors import ConfigError

    if settings.backend_url:
        from .prometheus import PrometheusBackend

        return PrometheusBackend.from_settings(settings)
    raise ConfigError(
        "No backend configured",
        hint="Pass --backend URL (or set PROMV5_BACKEND_URL), or --data DIR for a simulated history",
    )
