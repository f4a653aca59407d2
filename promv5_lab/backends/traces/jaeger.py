"""A Jaeger client over the query service's HTTP JSON API (the one Jaeger's UI uses).

::

    jaeger = JaegerTraces("http://jaeger:16686")
    jaeger.spans(TimeRange.last("30m"), service="checkout")
    jaeger.trace("4bf92f3577b34da6a3ce929d0e0e4736")

Endpoints (https://www.jaegertracing.io/docs/latest/apis/#http-json-internal): ``/api/services``,
``/api/traces?service=&start=&end=&limit=`` (microseconds) and ``/api/traces/<id>``, each answering
``{"data": [...], "errors": [{"code", "msg"}]}``. A trace is ``{"traceID", "spans": [{"spanID",
"operationName", "references": [{"refType": "CHILD_OF", "spanID"}], "startTime", "duration", "tags",
"processID"}], "processes": {"p1": {"serviceName"}}}``. Jaeger needs a service to search, so
``spans()`` without one searches each service in turn. Status: the ``error`` tag or
``otel.status_code=ERROR``; kind: the ``span.kind`` tag.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ...errors import BackendError
from ...types import TimeRange
from .._client import RemoteClient
from .._duckstore import check_range
from ..signals.frames import check_limit, check_trace_id, normalize_id, spans_frame
from ._remote import select

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)

_DROP_TAGS = ("span.kind", "otel.status_code", "internal.span.format")


def trace_rows(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (span columns, ``start`` in Unix ns) of one Jaeger trace object."""
    procs = trace.get("processes") or {}
    rows = []
    for sp in trace.get("spans") or ():
        tags = {str(t.get("key")): t.get("value") for t in sp.get("tags") or () if isinstance(t, dict)}
        parent = next((r.get("spanID") for r in sp.get("references") or ()
                       if isinstance(r, dict) and r.get("refType") == "CHILD_OF"), None)
        if parent is None and sp.get("references"):
            parent = (sp["references"][0] or {}).get("spanID")
        err = tags.get("error") in (True, "true") or str(tags.get("otel.status_code", "")).upper() == "ERROR"
        proc = procs.get(sp.get("processID")) or sp.get("process") or {}
        rows.append({"trace_id": normalize_id(sp.get("traceID") or trace.get("traceID"), what="traceID").rjust(32, "0"),
                     "span_id": normalize_id(sp.get("spanID"), what="spanID"),
                     "parent_span_id": normalize_id(parent, what="spanID") or None,
                     "service": str(proc.get("serviceName", "")), "operation": str(sp.get("operationName", "")),
                     "kind": str(tags.get("span.kind") or "internal").upper(),
                     "start": int(sp.get("startTime") or 0) * 1000, "duration_ms": float(sp.get("duration") or 0) / 1000,
                     "status": "ERROR" if err else "OK",
                     "attributes": {k: v for k, v in tags.items() if k not in _DROP_TAGS and k != "error"}})
    return rows


class JaegerTraces(RemoteClient):
    """Spans from Jaeger's query service (implements :class:`~..base.TracesBackend`)."""

    WHAT = "Jaeger query service"
    TENANT_HEADER = "x-tenant"  # Jaeger's multi-tenancy header (query.multi-tenancy.header)

    def __init__(self, url: str, *, max_traces: int = 500, tenant: str | None = None,
                 headers: dict[str, Any] | None = None, **http_options: Any) -> None:
        super().__init__(url, tenant=tenant, headers=headers, **http_options)
        self.max_traces = check_limit(max_traces)

    def services(self) -> list[str]:
        got = self._data(self.http.get("/api/services", endpoint="/api/services"), "/api/services")
        return sorted(str(s) for s in got or ())

    def spans(self, time_range: TimeRange, service: str | None = None, limit: int = 100_000) -> pd.DataFrame:
        check_limit(limit)
        check_range(time_range)
        services = [service] if service else self.services()
        rows: list[dict[str, Any]] = []
        complete = True
        for svc in services:
            params = {"service": svc, "start": str(_us(time_range.start)), "end": str(_us(time_range.end)),
                      "limit": str(self.max_traces), "lookback": "custom"}
            got = self._data(self.http.get("/api/traces", params, endpoint="/api/traces", query=f"service={svc}"),
                             "/api/traces")
            traces = [t for t in got or () if isinstance(t, dict)]
            complete &= len(traces) < self.max_traces
            for t in traces:
                rows.extend(trace_rows(t))
        query = f"/api/traces?service={service}" if service else f"/api/traces for each of {len(services)} services"
        return select(rows, time_range, service, limit, source=self.name, query=query, searched_all=complete)

    def trace(self, trace_id: str) -> pd.DataFrame:
        tid = check_trace_id(trace_id)
        got = self.http.get(f"/api/traces/{tid}", endpoint="/api/traces/<id>", missing_ok=True)
        rows = [r for t in (self._data(got, "/api/traces/<id>") if got is not None else None) or ()
                if isinstance(t, dict) for r in trace_rows(t)]
        return spans_frame(rows, source=self.name, query=f"/api/traces/{tid}")

    def _data(self, got: Any, endpoint: str) -> Any:
        if not isinstance(got, dict) or "data" not in got:
            raise BackendError(f"{self.url}{endpoint} did not answer Jaeger's JSON", url=self.url,
                               hint="Use the query service's address, e.g. http://jaeger:16686")
        return got["data"]


def _us(dt) -> int:
    import calendar

    return calendar.timegm(dt.utctimetuple()) * 1_000_000 + dt.microsecond
