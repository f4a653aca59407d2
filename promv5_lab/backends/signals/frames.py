"""The log and span frame conventions (see ``promv5_lab/backends/base.py``), built in one place.

logs:  ``timestamp`` (datetime64[ns, UTC]), ``service``, ``level`` (INFO/WARN/ERROR/...), ``message``,
       ``trace_id`` ("" when none), ``node`` ("" when unknown); sorted by time.
spans: ``trace_id``, ``span_id``, ``parent_span_id`` (None at a root), ``service``, ``operation``,
       ``kind`` (SERVER/CLIENT/INTERNAL/PRODUCER/CONSUMER), ``start`` (datetime64[ns, UTC]),
       ``duration_ms`` (float64), ``status`` ("OK"/"ERROR"), ``attributes`` (dict); sorted by start.

Every frame carries ``attrs``: ``source`` (the backend's name), ``query`` (what was asked, in the backend's
own language, so a person can re-run it) and ``truncated`` (True when ``limit`` cut the answer).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ...errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

LOG_COLUMNS = ("timestamp", "service", "level", "message", "trace_id", "node")
SPAN_COLUMNS = ("trace_id", "span_id", "parent_span_id", "service", "operation", "kind", "start", "duration_ms",
                "status", "attributes")

_LEVELS = {"WARNING": "WARN", "ERR": "ERROR", "EROR": "ERROR", "INFORMATION": "INFO", "INF": "INFO",
           "DBG": "DEBUG", "TRC": "TRACE", "CRITICAL": "FATAL", "CRIT": "FATAL", "PANIC": "FATAL",
           "EMERG": "FATAL", "ALERT": "FATAL", "NOTICE": "INFO", "WRN": "WARN"}
_HEX = re.compile(r"^[0-9a-f]+$")
SPAN_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")


def normalize_level(level: Any) -> str:
    """``warning`` -> ``WARN``, ``err`` -> ``ERROR``, ``None`` -> ``""``; anything else upper-cased."""
    if level is None:
        return ""
    text = str(level).strip().upper()
    return _LEVELS.get(text, text)


def severity_level(number: int | None) -> str:
    """OTLP ``severityNumber`` (1-24) -> TRACE/DEBUG/INFO/WARN/ERROR/FATAL (0 or None -> "")."""
    if not number:
        return ""
    names = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
    return names[min(max(int(number) - 1, 0) // 4, 5)]


def normalize_id(value: Any, *, what: str = "id") -> str:
    """A trace or span id as lower-case hex. Accepts hex (any case) or base64 (Tempo's JSON); "" stays ""."""
    if value is None:
        return ""
    text = str(value).strip()
    if not text:
        return ""
    low = text.lower()
    if _HEX.match(low) and len(low) in (16, 32):
        return low
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) in (8, 16):
        return raw.hex()
    if _HEX.match(low) and len(low) <= 32:
        return low.rjust(16 if len(low) <= 16 else 32, "0")
    raise InputError(f"{what} {text[:80]!r} is neither hex nor base64",
                     hint="Trace ids are 32 hex digits (16 for span ids), e.g. 4bf92f3577b34da6a3ce929d0e0e4736")


def check_trace_id(trace_id: str) -> str:
    """A user-given trace id, validated (hex, up to 32 digits) and lower-cased."""
    text = str(trace_id).strip().lower()
    if not _HEX.match(text) or len(text) > 32:
        raise InputError(f"Trace id {str(trace_id)[:80]!r} is not a hex trace id",
                         hint="Trace ids are up to 32 hex digits, e.g. 4bf92f3577b34da6a3ce929d0e0e4736")
    return text.rjust(32, "0") if len(text) > 16 else text


def logs_frame(rows: Iterable[Mapping[str, Any]] | None = None, *, source: str = "", query: str = "",
               limit: int | None = None) -> pd.DataFrame:
    """Rows with the log columns (timestamps as anything pandas reads as UTC) -> a sorted log frame."""
    import pandas as pd

    frame = pd.DataFrame(list(rows or ()), columns=list(LOG_COLUMNS))
    return finish_logs(frame, source=source, query=query, limit=limit)


def finish_logs(frame: pd.DataFrame, *, source: str = "", query: str = "", limit: int | None = None,
                truncated: bool = False) -> pd.DataFrame:
    """Coerce a frame with the log columns to the conventions; sort; cut at ``limit``."""
    import pandas as pd

    out = frame.loc[:, list(LOG_COLUMNS)].copy()
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True).astype("datetime64[ns, UTC]")
    for col in ("service", "message", "trace_id", "node"):
        out[col] = out[col].fillna("").astype(str)
    out["level"] = out["level"].map(normalize_level).astype(str)
    out = out.sort_values("timestamp", kind="stable").reset_index(drop=True)
    if limit is not None and len(out) > limit:
        out, truncated = out.iloc[:limit].reset_index(drop=True), True
    out.attrs.update(source=source, query=query, truncated=bool(truncated))
    return out


def spans_frame(rows: Iterable[Mapping[str, Any]] | None = None, *, source: str = "", query: str = "",
                limit: int | None = None) -> pd.DataFrame:
    """Rows with the span columns -> a sorted span frame."""
    import pandas as pd

    frame = pd.DataFrame(list(rows or ()), columns=list(SPAN_COLUMNS))
    return finish_spans(frame, source=source, query=query, limit=limit)


def finish_spans(frame: pd.DataFrame, *, source: str = "", query: str = "", limit: int | None = None,
                 truncated: bool = False) -> pd.DataFrame:
    """Coerce a frame with the span columns to the conventions; sort by start; cut at ``limit``."""
    import pandas as pd

    out = frame.loc[:, list(SPAN_COLUMNS)].copy()
    out["start"] = pd.to_datetime(out["start"], utc=True).astype("datetime64[ns, UTC]")
    out["duration_ms"] = pd.to_numeric(out["duration_ms"], errors="coerce").astype("float64")
    for col in ("trace_id", "span_id", "service", "operation", "kind", "status"):
        out[col] = out[col].fillna("").astype(str)
    parent = out["parent_span_id"].astype(object)
    out["parent_span_id"] = parent.where(parent.notna() & (parent != ""), None)
    out["attributes"] = pd.Series([a if isinstance(a, dict) else {} for a in out["attributes"]], index=out.index,
                                  dtype=object)
    out = out.sort_values(["start", "trace_id"], kind="stable").reset_index(drop=True)
    if limit is not None and len(out) > limit:
        out, truncated = out.iloc[:limit].reset_index(drop=True), True
    out.attrs.update(source=source, query=query, truncated=bool(truncated))
    return out


def check_limit(limit: int) -> int:
    """``limit`` must be a positive int; says how to fix it otherwise."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise InputError(f"limit must be a positive integer, got {limit!r}", hint="e.g. limit=10000")
    return limit
