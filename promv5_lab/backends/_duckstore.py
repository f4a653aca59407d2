"""What the embedded log and span stores share: an in-memory DuckDB table loaded from the demo's JSON
lines or from OTLP/JSON exports, queried with bound parameters only.

:class:`DuckStore` holds the connection and the table-independent queries (count, services, time
bounds, close); ``logs/store.py`` and ``traces/store.py`` add their table's columns and queries. The
helpers find the input files (:func:`find_files`), load them (:func:`load_json_lines`,
:func:`load_frame`) and describe a query for provenance (:func:`describe`). Values reach DuckDB only as
bound parameters; SQL text is built from the store's own column names and numbers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._deps import require
from ..errors import InputError
from ..types import TimeRange, as_utc

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)

__all__ = ["DuckStore", "check_range", "connect", "describe", "find_files", "load_frame", "load_json_lines",
           "sniff_jsonl"]


def connect():
    """A fresh in-memory DuckDB connection working in UTC."""
    duckdb = require("duckdb", "logs")
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone='UTC'")
    return con


def check_range(time_range: Any) -> TimeRange:
    """``time_range`` when it is a :class:`TimeRange`, else a clear InputError."""
    if not isinstance(time_range, TimeRange):
        raise InputError("time_range must be a TimeRange", hint="e.g. TimeRange.last('1h')")
    return time_range


def sniff_jsonl(path: Path, keys: tuple[str, ...]) -> bool:
    """Does the file mention one of ``keys`` (as a JSON key) in its first 4 KiB?"""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc}") from exc
    return any(f'"{key}"' in head for key in keys)


def find_files(source: Path, demo_name: str, otlp_keys: tuple[str, ...]) -> tuple[list[Path], list[Path]]:
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


def describe(sql: str, params: Sequence[Any]) -> str:
    """The SQL with its parameters listed after it (for provenance; never executed from this text)."""
    shown = ", ".join(p.isoformat() if isinstance(p, datetime) else repr(p) for p in params)
    return f"{sql}  -- params: [{shown}]"


def load_json_lines(con: Any, table: str, path: Path, select: str, columns: str, *, what: str, hint: str) -> None:
    """``CREATE TABLE table AS SELECT <select> FROM read_json(path)`` with ``columns`` typed; clear errors."""
    duckdb = require("duckdb", "logs")
    try:
        con.execute(f"CREATE TABLE {table} AS SELECT {select}"
                    f" FROM read_json(?, format='newline_delimited', columns={columns})", [str(path)])
    except duckdb.Error as exc:
        raise InputError(f"Cannot load {what} from {path}: {str(exc).splitlines()[0][:300]}", hint=hint) from exc


def load_frame(con: Any, table: str, frame: pd.DataFrame, select: str) -> None:
    """``CREATE TABLE table AS SELECT <select>`` over a registered pandas frame."""
    view = f"incoming_{table}"
    con.register(view, frame)
    try:
        con.execute(f"CREATE TABLE {table} AS SELECT {select} FROM {view}")
    finally:
        con.unregister(view)


class DuckStore:
    """One in-memory DuckDB table (``TABLE``, time column ``TIME_COLUMN``) behind a thread-safe cursor API.

    A subclass names its table and files (``DEMO_FILE``, ``OTLP_KEYS``, ``COLUMNS``, ``WHAT``) and loads them
    (``_load_demo``, ``_load_rows`` for OTLP documents, ``_load_frame`` for a frame); :meth:`open` and
    :meth:`from_frame` do the rest.
    """

    TABLE = ""
    TIME_COLUMN = ""
    DEMO_FILE = ""
    OTLP_KEYS: tuple[str, ...] = ()
    COLUMNS: tuple[str, ...] = ()
    WHAT = ""  # "logs", "traces": in messages and the store's name

    def __init__(self, con: Any, name: str) -> None:
        self._con = con
        self._lock = threading.Lock()
        self.name = name

    # ---- loading (the subclass's part) ---------------------------------------------------------------------
    @classmethod
    def _load_demo(cls, con: Any, path: Path) -> None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @classmethod
    def _load_documents(cls, con: Any, paths: list[Path]) -> None:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def _load_frame(cls, con: Any, frame: pd.DataFrame) -> None:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def _prepare(cls, con: Any) -> None:
        """After loading: indexes and the like."""

    @staticmethod
    def _finish(frame: pd.DataFrame) -> pd.DataFrame:
        """A caller's frame in the store's conventions (types, order) before loading."""
        return frame

    # ---- loading (shared) -------------------------------------------------------------------------------------
    @classmethod
    def open(cls, source: str | Path):
        """Load the demo file (a directory holding it, or the file) or OTLP/JSON export file(s)."""
        src = Path(source).expanduser()
        demo, otlp = find_files(src, cls.DEMO_FILE, cls.OTLP_KEYS)
        if not demo and not otlp:
            raise InputError(f"No {cls.WHAT} found in {src}",
                             hint=f"Expected {cls.DEMO_FILE} (promv5-lab simulate --out DIR) or OTLP/JSON *.json files")
        con = connect()
        if demo:
            cls._load_demo(con, demo[0])
        else:
            cls._load_documents(con, otlp)
        cls._prepare(con)
        store = cls(con, f"embedded-{cls.WHAT}:{src}")
        log.info("loaded %d rows of %s from %s", store.count(), cls.WHAT, src)
        return store

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, name: str | None = None):
        """A store over a frame with the store's columns."""
        missing = [c for c in cls.COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(f"The frame lacks {cls.WHAT} columns {missing}",
                             hint=f"A {cls.WHAT} frame has {list(cls.COLUMNS)}")
        con = connect()
        cls._load_frame(con, cls._finish(frame))
        cls._prepare(con)
        return cls(con, name or f"embedded-{cls.WHAT}:memory")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Each call uses its own cursor, so one store can serve several threads."""
        cur = self._con.cursor()
        try:
            return cur.execute(sql, list(params)).df()
        finally:
            cur.close()

    def count(self) -> int:
        return int(self._query(f"SELECT count(*) AS n FROM {self.TABLE}")["n"].iloc[0])

    def services(self) -> list[str]:
        return [str(s) for s in self._query(f"SELECT DISTINCT service FROM {self.TABLE} ORDER BY service")["service"]]

    def time_bounds(self) -> tuple[datetime, datetime] | None:
        """The first and last times held, or None when empty."""
        t = self.TIME_COLUMN
        got = self._query(f"SELECT min({t}) AS a, max({t}) AS b FROM {self.TABLE}")
        if got.empty or got["a"].isna().iloc[0]:
            return None
        return as_utc(got["a"].iloc[0].to_pydatetime()), as_utc(got["b"].iloc[0].to_pydatetime())

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
