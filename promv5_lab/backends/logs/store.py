"""An embedded log store: DuckDB over the demo world's ``logs.jsonl`` or OTLP/JSON log exports.

::

    store = LogStore.open("out/demo")                 # logs.jsonl, or *.json / *.jsonl OTLP exports
    store.logs(TimeRange.last("1h"), service="checkout", contains="pool")
    store.count_by_service(TimeRange.last("1h"), bucket_s=60)

Values reach DuckDB only as bound parameters, never spliced into SQL. Each call uses its own cursor, so
one store can serve several threads (what the log and span stores share is in ``backends/_duckstore.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import InputError
from ...types import TimeRange
from .._duckstore import DuckStore, check_range, describe, load_frame, load_json_lines
from ..signals.frames import LOG_COLUMNS, check_limit, finish_logs, logs_frame
from ..signals.otlp import log_rows, read_documents

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)

DEMO_FILE = "logs.jsonl"
_JSON_COLUMNS = ("{timestamp: 'TIMESTAMPTZ', service: 'VARCHAR', level: 'VARCHAR', message: 'VARCHAR', "
                 "trace_id: 'VARCHAR', node: 'VARCHAR'}")


class LogStore(DuckStore):
    """Log lines in an in-memory DuckDB table ``logs`` (the log frame's columns)."""

    TABLE = "logs"
    TIME_COLUMN = "timestamp"
    DEMO_FILE = DEMO_FILE
    OTLP_KEYS = ("resourceLogs",)
    COLUMNS = LOG_COLUMNS
    WHAT = "logs"
    _finish = staticmethod(finish_logs)

    @classmethod
    def _load_demo(cls, con: Any, path: Path) -> None:
        load_json_lines(
            con, "logs", path,
            "CAST(timestamp AS TIMESTAMPTZ) AS timestamp, coalesce(service, '') AS service,"
            " upper(coalesce(level, '')) AS level, coalesce(message, '') AS message,"
            " lower(coalesce(trace_id, '')) AS trace_id, coalesce(node, '') AS node", _JSON_COLUMNS, what="logs",
            hint="Each line must be a JSON object with timestamp, service, level, message, trace_id, node"
                 " (promv5_lab/demo/README.md)")
        con.execute("UPDATE logs SET level = 'WARN' WHERE level = 'WARNING'")

    @classmethod
    def _load_documents(cls, con: Any, paths: list[Path]) -> None:
        cls._load_frame(con, logs_frame([r for p in paths for doc in read_documents(p) for r in log_rows(doc)]))

    @classmethod
    def _load_frame(cls, con: Any, frame: pd.DataFrame) -> None:
        load_frame(con, "logs", frame, "CAST(timestamp AS TIMESTAMPTZ) AS timestamp, service, level, message,"
                                       " trace_id, node")

    # ---- queries ------------------------------------------------------------------------------------------
    def logs(self, time_range: TimeRange, service: str | None = None, contains: str | None = None,
             limit: int = 100_000, *, level: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Lines with ``time_range.start <= timestamp <= time_range.end``, oldest first, at most ``limit``.

        ``service`` matches exactly; ``contains`` is a case-sensitive substring of the message (like LogQL's
        ``|=``); ``level`` keeps only those levels (INFO, WARN, ERROR...).
        """
        check_limit(limit)
        where, params = _where(time_range, service, contains, level)
        sql = (f"SELECT timestamp, service, level, message, trace_id, node FROM logs WHERE {where} "
               f"ORDER BY timestamp LIMIT {limit + 1}")
        frame = self._query(sql, params)
        truncated = len(frame) > limit
        return finish_logs(frame, source=self.name, query=describe(sql, params), limit=limit, truncated=truncated)

    def count_by_service(self, time_range: TimeRange, *, bucket_s: float | None = None,
                         level: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Counts per ``service`` and ``level`` (and per ``bucket`` start when ``bucket_s`` is given)."""
        where, params = _where(time_range, None, None, level)
        if bucket_s is not None:
            if not bucket_s > 0:
                raise InputError(f"bucket_s must be positive, got {bucket_s!r}")
            sql = (f"SELECT to_timestamp(floor(epoch(timestamp) / {float(bucket_s)!r}) * {float(bucket_s)!r}) AS bucket,"
                   f" service, level, count(*) AS count FROM logs WHERE {where}"
                   " GROUP BY ALL ORDER BY bucket, service, level")
        else:
            sql = (f"SELECT service, level, count(*) AS count FROM logs WHERE {where}"
                   " GROUP BY ALL ORDER BY service, level")
        frame = self._query(sql, params)
        if "bucket" in frame:
            frame["bucket"] = frame["bucket"].astype("datetime64[ns, UTC]")
        frame["count"] = frame["count"].astype("int64")
        frame.attrs.update(source=self.name, query=describe(sql, params))
        return frame


def _where(time_range: TimeRange, service: str | None, contains: str | None,
           level: str | Sequence[str] | None) -> tuple[str, list[Any]]:
    check_range(time_range)
    clauses, params = ["timestamp >= ?", "timestamp <= ?"], [time_range.start, time_range.end]
    if service:
        clauses.append("service = ?")
        params.append(str(service))
    if contains:
        clauses.append("strpos(message, ?) > 0")
        params.append(str(contains))
    if level:
        from ..signals.frames import normalize_level

        levels = [level] if isinstance(level, str) else list(level)
        clauses.append(f"level IN ({', '.join('?' for _ in levels)})")
        params.extend(normalize_level(v) for v in levels)
    return " AND ".join(clauses), params
