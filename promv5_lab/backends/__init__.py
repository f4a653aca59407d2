"""Telemetry backends: a live Prometheus-compatible server, or a local history (``--data DIR``).

:func:`telemetry` is the one way entry points turn ``--backend URL`` / ``--data DIR`` into a backend.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .base import MetricCatalogue, MetricsBackend, RuleSource

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Settings

__all__ = ["MetricsBackend", "MetricCatalogue", "RuleSource", "open_backend", "telemetry"]

log = logging.getLogger(__name__)


def open_backend(settings: Settings) -> MetricsBackend:
    """The live backend the settings name (``backend_url``)."""
    from ..errors import ConfigError

    if settings.backend_url:
        from .prometheus import PrometheusBackend

        return PrometheusBackend.from_settings(settings)
    raise ConfigError(
        "No backend configured",
        hint="Pass --backend URL (or set PROMV5_BACKEND_URL), or --data DIR for a simulated history",
    )


@contextlib.contextmanager
def telemetry(settings: Settings) -> Iterator[MetricsBackend]:
    """A backend for the duration of a ``with`` block.

    ``backend_url`` -> that server. ``data_dir`` -> the embedded engine over that directory (default), or
    with ``data_engine="prometheus"`` a local Prometheus started over its ``metrics.om`` (backfilled with
    promtool; needs Debian's ``prometheus``) and stopped on exit. Neither -> the bundled demo history
    (generated into ``cache_dir`` when missing or stale, ending now) on the same engine.
    """
    from ..errors import ConfigError

    if settings.backend_url:
        with _closing(open_backend(settings)) as backend:
            yield backend
        return
    if settings.data_dir is None:
        from ..demo.bundled import demo_history

        data_dir = demo_history(settings.cache_dir)
    else:
        data_dir = Path(settings.data_dir)
    if settings.data_engine == "prometheus":
        yield from _local_prometheus(data_dir, settings)
        return
    from .embedded import EmbeddedBackend

    yield EmbeddedBackend.open(data_dir)


@contextlib.contextmanager
def _closing(backend: MetricsBackend) -> Iterator[MetricsBackend]:
    """Close the backend's connections on exit, if it has any."""
    try:
        yield backend
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()


def _local_prometheus(data_dir: Path, settings: Settings) -> Iterator[MetricsBackend]:
    from ..config import load_settings
    from ..errors import InputError
    from .harness import PrometheusHarness
    from .prometheus import PrometheusBackend

    om = data_dir / "metrics.om"
    if not om.is_file():
        raise InputError(f"No metrics.om in {data_dir}", hint=f"Create one: promv5-lab simulate --out {data_dir}")
    with PrometheusHarness() as harness:
        log.info("backfilling %s into a local Prometheus", om)
        harness.backfill(om)
        harness.start()
        local = load_settings(**{**settings.model_dump(exclude={"data_dir", "backend_url"}),
                                 "backend_url": harness.url})
        with _closing(PrometheusBackend.from_settings(local)) as backend:
            yield backend
