"""An embedded span store: DuckDB over the demo world's ``traces.jsonl`` or OTLP/JSON trace exports.

::

    store = TraceStore.open("out/demo")               # traces.jsonl, or *.json / *.jsonl with resourceSpans
    store.spans(TimeRange.last("1h"), service="checkout")
    store.trace("4bf92f3577b34da6a3ce929d0e0e4736")

Values reach DuckDB only as bound parameters. ``attributes`` are kept as JSON text and decoded per answer.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...types import TimeRange
from .._duckstore import DuckStore, check_range, describe, load_frame, load_json_lines
from ..signals.frames import SPAN_COLUMNS, check_limit, check_trace_id, finish_spans, spans_frame
from ..signals.otlp import read_documents, span_rows

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)

DEMO_FILE = "traces.jsonl"
_JSON_COLUMNS = ("{trace_id: 'VARCHAR', span_id: 'VARCHAR', parent_span_id: 'VARCHAR', service: 'VARCHAR', "
                 "operation: 'VARCHAR', kind: 'VARCHAR', start: 'TIMESTAMPTZ', duration: 'DOUBLE', status: 'VARCHAR', "
                 "attributes: 'JSON'}")
_SELECT = ("SELECT trace_id, span_id, parent_span_id, service, operation, kind, start, duration_ms, status, attributes"
           " FROM spans")


class TraceStore(DuckStore):
    """Spans in an in-memory DuckDB table ``spans`` (the span frame's columns, attributes as JSON text)."""

    TABLE = "spans"
    TIME_COLUMN = "start"
    DEMO_FILE = DEMO_FILE
    OTLP_KEYS = ("resourceSpans", "batches")
    COLUMNS = SPAN_COLUMNS
    WHAT = "traces"
    _finish = staticmethod(finish_spans)

    @classmethod
    def _load_demo(cls, con: Any, path: Path) -> None:
        load_json_lines(
            con, "spans", path,
            "lower(trace_id) AS trace_id, lower(span_id) AS span_id,"
            " nullif(lower(parent_span_id), '') AS parent_span_id, coalesce(service, '') AS service,"
            " coalesce(operation, '') AS operation, upper(coalesce(kind, 'INTERNAL')) AS kind,"
            " CAST(start AS TIMESTAMPTZ) AS start, CAST(duration AS DOUBLE) AS duration_ms,"
            " CASE WHEN upper(status) = 'ERROR' THEN 'ERROR' ELSE 'OK' END AS status,"
            " CAST(coalesce(attributes, '{}') AS VARCHAR) AS attributes", _JSON_COLUMNS, what="spans",
            hint="Each line must be a JSON span with trace_id, span_id, parent_span_id, service, operation, kind,"
                 " start, duration, status, attributes (promv5_lab/demo/README.md)")

    @classmethod
    def _load_documents(cls, con: Any, paths: list[Path]) -> None:
        cls._load_frame(con, spans_frame([r for p in paths for doc in read_documents(p) for r in span_rows(doc)]))

    @classmethod
    def _load_frame(cls, con: Any, frame: pd.DataFrame) -> None:
        flat = frame.assign(attributes=[json.dumps(a, default=str, sort_keys=True) for a in frame["attributes"]])
        load_frame(con, "spans", flat, "trace_id, span_id, parent_span_id, service, operation, kind,"
                                       " CAST(start AS TIMESTAMPTZ) AS start, CAST(duration_ms AS DOUBLE) AS duration_ms,"
                                       " status, attributes")

    @classmethod
    def _prepare(cls, con: Any) -> None:
        """An ART index on trace_id: trace(id) becomes a point lookup instead of a scan."""
        con.execute("CREATE INDEX spans_by_trace ON spans (trace_id)")

    def _frame(self, sql: str, params: list[Any], limit: int | None) -> pd.DataFrame:
        frame = self._query(sql, params)
        truncated = limit is not None and len(frame) > limit
        if limit is not None:
            frame = frame.iloc[:limit]
        texts = [a if isinstance(a, str) and a else "{}" for a in frame["attributes"].tolist()]
        frame = frame.assign(attributes=json.loads("[" + ",".join(texts) + "]"))  # one parse, not one per span
        return finish_spans(frame, source=self.name, query=describe(sql, params), truncated=truncated)

    def spans(self, time_range: TimeRange, service: str | None = None, limit: int = 100_000, *,
              status: str | None = None, operation: str | None = None) -> pd.DataFrame:
        """Spans starting within ``time_range`` (optionally of one service, status or operation), earliest first."""
        check_limit(limit)
        check_range(time_range)
        clauses, params = ["start >= ?", "start <= ?"], [time_range.start, time_range.end]
        for col, value in (("service", service), ("status", status), ("operation", operation)):
            if value:
                clauses.append(f"{col} = ?")
                params.append(str(value).upper() if col == "status" else str(value))
        sql = f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY start, trace_id LIMIT {limit + 1}"
        return self._frame(sql, params, limit)

    def trace(self, trace_id: str) -> pd.DataFrame:
        """Every span of one trace (empty when the store does not hold it)."""
        tid = check_trace_id(trace_id)
        return self._frame(f"{_SELECT} WHERE trace_id = ? ORDER BY start", [tid], None)

    def trace_ids(self, time_range: TimeRange, service: str | None = None, *, errors_only: bool = False,
                  limit: int = 1000) -> list[str]:
        """Ids of traces with a span in range (of ``service``; with an ERROR span when ``errors_only``)."""
        check_limit(limit)
        clauses, params = ["start >= ?", "start <= ?"], [time_range.start, time_range.end]
        if service:
            clauses.append("service = ?")
            params.append(service)
        if errors_only:
            clauses.append("status = 'ERROR'")
        got = self._query(f"SELECT trace_id, min(start) AS t FROM spans WHERE {' AND '.join(clauses)}"
                          f" GROUP BY trace_id ORDER BY t LIMIT {limit}", params)
        return [str(t) for t in got["trace_id"]]
