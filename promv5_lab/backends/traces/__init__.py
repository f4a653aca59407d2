"""Traces backends: an embedded DuckDB store (demo ``traces.jsonl`` or OTLP/JSON exports), Tempo and Jaeger.

:func:`open_traces` turns a directory, file or URL into a :class:`~..base.TracesBackend`::

    open_traces("out/demo")                        # TraceStore over out/demo/traces.jsonl
    open_traces("export/otlp-traces.json")         # TraceStore over an OTLP/JSON export
    open_traces("tempo+http://tempo:3200")         # TempoTraces
    open_traces("jaeger+http://jaeger:16686")      # JaegerTraces
    open_traces("http://host:port")                # asks the server which it is (Tempo /api/echo, Jaeger /api/services)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..base import TracesBackend

__all__ = ["TRACE_SCHEMES", "JaegerTraces", "TempoTraces", "TraceStore", "open_traces"]

TRACE_SCHEMES = ("http", "https", "tempo+http", "tempo+https", "jaeger+http", "jaeger+https", "file")


def open_traces(source: str | os.PathLike[str], **options: Any) -> TracesBackend:
    """A traces backend for ``source``: a path (embedded store), or a Tempo/Jaeger URL.

    ``options`` go to the HTTP client (``bearer_token``, ``basic_auth``, ``headers``, ``timeout_s``,
    ``tls_verify``, ``tls_ca_file``, ``max_traces``...).
    """
    from ...errors import ConfigError
    from ..signals import sources

    kind, target = sources.classify(source, TRACE_SCHEMES, what="traces")
    if kind == "path":
        if options:
            raise ConfigError(f"Options {sorted(options)} only apply to a Tempo or Jaeger URL, not a local path")
        from .store import TraceStore

        return TraceStore.open(Path(target))
    url = sources.strip_kind(target)
    if kind.startswith("tempo+"):
        from .tempo import TempoTraces

        return TempoTraces(url, **options)
    if kind.startswith("jaeger+"):
        from .jaeger import JaegerTraces

        return JaegerTraces(url, **options)
    return _probe(url, options)


def _probe(url: str, options: dict[str, Any]) -> TracesBackend:
    """Tempo answers ``/api/echo`` with ``echo``; Jaeger answers ``/api/services`` with ``{"data": [...]}``."""
    from ...errors import BackendError, ConfigError
    from ..signals.http import JsonHttp
    from .jaeger import JaegerTraces
    from .tempo import TempoTraces

    http = JsonHttp(url, what="traces server", **{k: v for k, v in options.items() if k in JsonHttp.OPTIONS})
    try:
        try:
            if http.text("/api/echo", endpoint="/api/echo", missing_ok=True) is not None:
                return TempoTraces(url, **options)
        except BackendError:
            pass
        try:
            got = http.get("/api/services", endpoint="/api/services", missing_ok=True)
        except BackendError:
            got = None
        if isinstance(got, dict) and "data" in got:
            return JaegerTraces(url, **{k: v for k, v in options.items() if k not in ("workers", "progress")})
    finally:
        http.close()
    raise ConfigError(f"{http.url} answers neither like Tempo (/api/echo) nor like Jaeger (/api/services)",
                      hint="Say which it is: tempo+http://host:3200 or jaeger+http://host:16686")


def __getattr__(name: str) -> Any:
    if name == "TraceStore":
        from .store import TraceStore

        return TraceStore
    if name == "TempoTraces":
        from .tempo import TempoTraces

        return TempoTraces
    if name == "JaegerTraces":
        from .jaeger import JaegerTraces

        return JaegerTraces
    raise AttributeError(name)
