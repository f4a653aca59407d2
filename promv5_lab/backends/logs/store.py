"""An embedded log store: DuckDB over the demo world's ``logs.jsonl`` or OTLP/JSON log exports.

::

    store = LogStore.open("out/demo")                 # logs.jsonl, or *.json / *.jsonl OTLP exports
    store.logs(TimeRange.last("1h"), service="checkout", contains="pool")
    store.count_by_service(TimeRange.last("1h"), bucket_s=60)

Values reach DuckDB only as bound parameters, never spliced into SQL. Each call uses its own cursor, so
one store can serve several threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..._deps import require
from ...errors import InputError
from ...types import TimeRange, as_utc
from ..signals.frames import LOG_COLUMNS, check_limit, finish_logs, logs_frame
from ..signals.otlp import log_rows, read_documents

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)

DEMO_FILE = "logs.jsonl"
_JSON_COLUMNS = ("{timestamp: 'TIMESTAMPTZ', service: 'VARCHAR', level: 'VARCHAR', message: 'VARCHAR', "
                 "trace_id: 'VARCHAR', node: 'VARCHAR'}")


def connect():
    """A fresh in-memory DuckDB connection working in UTC."""
    duckdb = require("duckdb", "logs")
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone='UTC'")
    return con


def sniff_jsonl(path: Path, keys: tuple[str, ...]) -> bool:
    """Does the file mention one of ``keys`` (as a JSON key) in its first 4 KiB?"""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc}") from exc
    return any(f'"{key}"' in head for key in keys)


def _files(source: Path, demo_name: str, otlp_keys: tuple[str, ...]) -> tuple[list[Path], list[Path]]:
    """(demo-format files, OTLP files) found at ``source`` (a file or a directory)."""
    if source.is_file():
        return ([], [source]) if sniff_jsonl(source, otlp_keys) else ([source], [])
    if source.is_dir():
        demo = source / demo_name
        if demo.is_file():
            return [demo], []
        otlp = [p for p in sorted(source.iterdir())
                if p.is_file() and p.suffix in (".json", ".jsonl") and sniff_jsonl(p, otlp_keys)]
        return [], otlp
    raise InputError(f"No such file or directory: {source}",
                     hint="Pass a 'promv5-lab simulate' output directory or an OTLP/JSON export file")


class LogStore:
    """Log lines in an in-memory DuckDB table ``logs`` (the log frame's columns)."""

    def __init__(self, con: Any, name: str) -> None:
        self._con = con
        self._lock = threading.Lock()
        self.name = name

    # ---- loading ------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, source: str | Path) -> LogStore:
        """Load ``logs.jsonl`` (a directory or the file) or OTLP/JSON ``resourceLogs`` file(s)."""
        src = Path(source).expanduser()
        demo, otlp = _files(src, DEMO_FILE, ("resourceLogs",))
        if not demo and not otlp:
            raise InputError(f"No logs found in {src}",
                             hint=f"Expected {DEMO_FILE} (promv5-lab simulate --out DIR) or OTLP/JSON *.json files")
        con = connect()
        if demo:
            _load_demo(con, demo[0])
        else:
            rows = [r for p in otlp for doc in read_documents(p) for r in log_rows(doc)]
            _load_frame(con, logs_frame(rows))
        store = cls(con, f"embedded-logs:{src}")
        log.info("loaded %d log lines from %s", store.count(), src)
        return store

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, name: str = "embedded-logs:memory") -> LogStore:
        """A store over a log frame (any frame with the log columns)."""
        missing = [c for c in LOG_COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(f"The frame lacks log columns {missing}", hint=f"A log frame has {list(LOG_COLUMNS)}")
        con = connect()
        _load_frame(con, finish_logs(frame))
        return cls(con, name)

    # ---- queries ------------------------------------------------------------------------------------------
    def _query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        cur = self._con.cursor()
        try:
            return cur.execute(sql, list(params)).df()
        finally:
            cur.close()

    def count(self) -> int:
        return int(self._query("SELECT count(*) AS n FROM logs")["n"].iloc[0])

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
        return finish_logs(frame, source=self.name, query=_describe(sql, params), limit=limit, truncated=truncated)

    def services(self) -> list[str]:
        return [str(s) for s in self._query("SELECT DISTINCT service FROM logs ORDER BY service")["service"]]

    def time_bounds(self) -> tuple[datetime, datetime] | None:
        """The first and last timestamps held, or None when empty."""
        got = self._query("SELECT min(timestamp) AS a, max(timestamp) AS b FROM logs")
        if got.empty or got["a"].isna().iloc[0]:
            return None
        return as_utc(got["a"].iloc[0].to_pydatetime()), as_utc(got["b"].iloc[0].to_pydatetime())

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
        frame.attrs.update(source=self.name, query=_describe(sql, params))
        return frame

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LogStore({self.name!r})"


def _where(time_range: TimeRange, service: str | None, contains: str | None,
           level: str | Sequence[str] | None) -> tuple[str, list[Any]]:
    if not isinstance(time_range, TimeRange):
        raise InputError("time_range must be a TimeRange", hint="e.g. TimeRange.last('1h')")
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


def _describe(sql: str, params: Sequence[Any]) -> str:
    """The SQL with its parameters listed after it (for provenance; never executed from this text)."""
    shown = ", ".join(p.isoformat() if isinstance(p, datetime) else repr(p) for p in params)
    return f"{sql}  -- params: [{shown}]"


def _load_demo(con: Any, path: Path) -> None:
    duckdb = require("duckdb", "logs")
    try:
        con.execute(
            "CREATE TABLE logs AS SELECT CAST(timestamp AS TIMESTAMPTZ) AS timestamp, coalesce(service, '') AS service,"
            " upper(coalesce(level, '')) AS level, coalesce(message, '') AS message,"
            " lower(coalesce(trace_id, '')) AS trace_id, coalesce(node, '') AS node"
            f" FROM read_json(?, format='newline_delimited', columns={_JSON_COLUMNS})", [str(path)])
    except duckdb.Error as exc:
        raise InputError(f"Cannot load logs from {path}: {str(exc).splitlines()[0][:300]}",
                         hint="Each line must be a JSON object with timestamp, service, level, message,"
                              " trace_id, node (promv5_lab/demo/README.md)") from exc
    con.execute("UPDATE logs SET level = 'WARN' WHERE level = 'WARNING'")


def _load_frame(con: Any, frame: pd.DataFrame) -> None:
    con.register("incoming_logs", frame)
    con.execute("CREATE TABLE logs AS SELECT CAST(timestamp AS TIMESTAMPTZ) AS timestamp, service, level, message,"
                " trace_id, node FROM incoming_logs")
    con.unregister("incoming_logs")
