"""A Tempo client: TraceQL search (``/api/search``) and trace by id (``/api/traces/<id>``, OTLP JSON).

::

    tempo = TempoTraces("http://tempo:3200")
    tempo.spans(TimeRange.last("30m"), service="checkout")     # { resource.service.name = "checkout" }
    tempo.search('{ status = error && resource.service.name = "payments" }', TimeRange.last("1h"))
    tempo.trace("4bf92f3577b34da6a3ce929d0e0e4736")

Wire format: https://grafana.com/docs/tempo/latest/api_docs/ - search answers
``{"traces": [{"traceID", "rootServiceName", "rootTraceName", "startTimeUnixNano", "durationMs", "spanSet(s)"}]}``
(trace ids may lose leading zeros); trace by id answers OTLP JSON under ``batches`` (v1) or
``trace.resourceSpans`` (v2), ids in base64 or hex, enums by name. ``spans()`` searches at most
``max_traces`` traces in the range, fetches each whole (4 at a time) and keeps the spans that start in
the range (of the service); ``attrs["truncated"]`` says when the search hit ``max_traces``.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from ...errors import BackendError
from ...types import TimeRange
from .._client import RemoteClient
from .._duckstore import check_range
from ..signals.frames import check_limit, check_trace_id, normalize_id, spans_frame
from ..signals.otlp import span_rows
from ._remote import fetch_all, select

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)


def traceql_string(value: str) -> str:
    """A TraceQL double-quoted string literal holding ``value`` exactly."""
    return json.dumps(str(value), ensure_ascii=False)


def service_query(service: str | None) -> str:
    return f"{{ resource.service.name = {traceql_string(service)} }}" if service else "{ }"


class TempoTraces(RemoteClient):
    """Spans from Grafana Tempo (implements :class:`~..base.TracesBackend`)."""

    WHAT = "Tempo"

    def __init__(self, url: str, *, max_traces: int = 500, workers: int = 4, progress: bool = False,
                 tenant: str | None = None, headers: dict[str, Any] | None = None, **http_options: Any) -> None:
        super().__init__(url, tenant=tenant, headers=headers, **http_options)
        self.max_traces = check_limit(max_traces)
        self.workers, self.progress = workers, progress

    def search(self, traceql: str, time_range: TimeRange, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Tempo's search hits: ``[{"trace_id", "root_service", "root_name", "start", "duration_ms"}]``."""
        check_range(time_range)
        n = check_limit(limit or self.max_traces)
        params = {"q": traceql, "start": str(int(time_range.start.timestamp())),
                  "end": str(int(time_range.end.timestamp()) + 1), "limit": str(n)}
        got = self.http.get("/api/search", params, endpoint="/api/search", query=traceql)
        if not isinstance(got, dict) or not isinstance(got.get("traces", []), list):
            raise BackendError(f"{self.url}/api/search did not answer Tempo's search JSON", url=self.url)
        out = []
        for t in got.get("traces") or ():
            out.append({"trace_id": normalize_id(t.get("traceID"), what="traceID").rjust(32, "0"),
                        "root_service": str(t.get("rootServiceName", "")), "root_name": str(t.get("rootTraceName", "")),
                        "start_ns": int(t.get("startTimeUnixNano") or 0),
                        "duration_ms": float(t.get("durationMs") or 0.0)})
        return out

    def spans(self, time_range: TimeRange, service: str | None = None, limit: int = 100_000) -> pd.DataFrame:
        check_limit(limit)
        q = service_query(service)
        hits = self.search(q, time_range)
        rows = fetch_all((h["trace_id"] for h in hits), self._trace_rows, workers=self.workers,
                         progress=self.progress)
        return select(rows, time_range, service, limit, source=self.name, query=q,
                      searched_all=len(hits) < self.max_traces)

    def trace(self, trace_id: str) -> pd.DataFrame:
        tid = check_trace_id(trace_id)
        return spans_frame(self._trace_rows(tid), source=self.name, query=f"/api/traces/{tid}")

    def services(self) -> list[str]:
        got = self.http.get("/api/search/tag/service.name/values", endpoint="/api/search/tag/<tag>/values")
        return sorted(str(v) for v in (got or {}).get("tagValues") or ())

    def _trace_rows(self, trace_id: str) -> list[dict[str, Any]]:
        got = self.http.get(f"/api/traces/{trace_id}", endpoint="/api/traces/<id>", missing_ok=True)
        if got is None:
            return []
        if not isinstance(got, dict):
            raise BackendError(f"{self.url}/api/traces/{trace_id} did not answer OTLP JSON", url=self.url)
        return list(span_rows(got))
