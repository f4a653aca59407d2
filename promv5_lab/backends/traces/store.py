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
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..._deps import require
from ...errors import InputError
from ...types import TimeRange, as_utc
from ..logs.store import _describe, _files, connect
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


class TraceStore:
    """Spans in an in-memory DuckDB table ``spans`` (the span frame's columns, attributes as JSON text)."""

    def __init__(self, con: Any, name: str) -> None:
        self._con = con
        self.name = name

    @classmethod
    def open(cls, source: str | Path) -> TraceStore:
        """Load ``traces.jsonl`` (a directory or the file) or OTLP/JSON ``resourceSpans`` file(s)."""
        src = Path(source).expanduser()
        demo, otlp = _files(src, DEMO_FILE, ("resourceSpans", "batches"))
        if not demo and not otlp:
            raise InputError(f"No traces found in {src}",
                             hint=f"Expected {DEMO_FILE} (promv5-lab simulate --out DIR) or OTLP/JSON *.json files")
        con = connect()
        if demo:
            _load_demo(con, demo[0])
        else:
            rows = [r for p in otlp for doc in read_documents(p) for r in span_rows(doc)]
            _load_frame(con, spans_frame(rows))
        _index(con)
        store = cls(con, f"embedded-traces:{src}")
        log.info("loaded %d spans from %s", store.count(), src)
        return store

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, name: str = "embedded-traces:memory") -> TraceStore:
        missing = [c for c in SPAN_COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(f"The frame lacks span columns {missing}", hint=f"A span frame has {list(SPAN_COLUMNS)}")
        con = connect()
        _load_frame(con, finish_spans(frame))
        _index(con)
        return cls(con, name)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        cur = self._con.cursor()
        try:
            return cur.execute(sql, list(params)).df()
        finally:
            cur.close()

    def _frame(self, sql: str, params: list[Any], limit: int | None) -> pd.DataFrame:
        frame = self._query(sql, params)
        truncated = limit is not None and len(frame) > limit
        if limit is not None:
            frame = frame.iloc[:limit]
        texts = [a if isinstance(a, str) and a else "{}" for a in frame["attributes"].tolist()]
        frame = frame.assign(attributes=json.loads("[" + ",".join(texts) + "]"))  # one parse, not one per span
        return finish_spans(frame, source=self.name, query=_describe(sql, params), truncated=truncated)

    def count(self) -> int:
        return int(self._query("SELECT count(*) AS n FROM spans")["n"].iloc[0])

    def spans(self, time_range: TimeRange, service: str | None = None, limit: int = 100_000, *,
              status: str | None = None, operation: str | None = None) -> pd.DataFrame:
        """Spans starting within ``time_range`` (optionally of one service, status or operation), earliest first."""
        check_limit(limit)
        if not isinstance(time_range, TimeRange):
            raise InputError("time_range must be a TimeRange", hint="e.g. TimeRange.last('1h')")
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

    def services(self) -> list[str]:
        return [str(s) for s in self._query("SELECT DISTINCT service FROM spans ORDER BY service")["service"]]

    def time_bounds(self) -> tuple[datetime, datetime] | None:
        got = self._query("SELECT min(start) AS a, max(start) AS b FROM spans")
        if got.empty or got["a"].isna().iloc[0]:
            return None
        return as_utc(got["a"].iloc[0].to_pydatetime()), as_utc(got["b"].iloc[0].to_pydatetime())

    def close(self) -> None:
        self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TraceStore({self.name!r})"


def _index(con: Any) -> None:
    """An ART index on trace_id: trace(id) becomes a point lookup instead of a scan."""
    con.execute("CREATE INDEX spans_by_trace ON spans (trace_id)")


def _load_demo(con: Any, path: Path) -> None:
    duckdb = require("duckdb", "logs")
    try:
        con.execute(
            "CREATE TABLE spans AS SELECT lower(trace_id) AS trace_id, lower(span_id) AS span_id,"
            " nullif(lower(parent_span_id), '') AS parent_span_id, coalesce(service, '') AS service,"
            " coalesce(operation, '') AS operation, upper(coalesce(kind, 'INTERNAL')) AS kind,"
            " CAST(start AS TIMESTAMPTZ) AS start, CAST(duration AS DOUBLE) AS duration_ms,"
            " CASE WHEN upper(status) = 'ERROR' THEN 'ERROR' ELSE 'OK' END AS status,"
            " CAST(coalesce(attributes, '{}') AS VARCHAR) AS attributes"
            f" FROM read_json(?, format='newline_delimited', columns={_JSON_COLUMNS})", [str(path)])
    except duckdb.Error as exc:
        raise InputError(f"Cannot load spans from {path}: {str(exc).splitlines()[0][:300]}",
                         hint="Each line must be a JSON span with trace_id, span_id, parent_span_id, service,"
                              " operation, kind, start, duration, status, attributes (promv5_lab/demo/README.md)"
                         ) from exc


def _load_frame(con: Any, frame: pd.DataFrame) -> None:
    flat = frame.assign(attributes=[json.dumps(a, default=str, sort_keys=True) for a in frame["attributes"]])
    con.register("incoming_spans", flat)
    con.execute("CREATE TABLE spans AS SELECT trace_id, span_id, parent_span_id, service, operation, kind,"
                " CAST(start AS TIMESTAMPTZ) AS start, CAST(duration_ms AS DOUBLE) AS duration_ms, status,"
                " attributes FROM incoming_spans")
    con.unregister("incoming_spans")
