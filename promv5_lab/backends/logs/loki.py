"""A Loki client: LogQL ``query_range`` over ``/loki/api/v1/query_range``, results as a log frame.

::

    loki = LokiLogs("http://loki:3100", tenant="team-a", bearer_token=...)
    loki.logs(TimeRange.last("1h"), service="checkout", contains="pool")      # {service_name="checkout"} |= "pool"
    loki.query('{app="api"} |~ "timeout|refused"', TimeRange.last("15m"))     # any LogQL log query

Wire format: https://grafana.com/docs/loki/latest/reference/loki-http-api/#query-logs-within-a-range-of-time
(``resultType: "streams"``, each ``{"stream": {labels}, "values": [["<unix ns>", "<line>"], ...]}``; with
categorised labels a third element carries structured metadata). Pages of at most ``batch_size`` entries
(Loki's ``max_entries_limit_per_query`` is 5000 by default) are fetched forward in time until ``limit``;
entries on a page boundary are de-duplicated (more than a page of lines on one nanosecond cannot be
paged through; the rest of that nanosecond is skipped with a warning).

Column mapping: ``service`` from the service label (``service_name``, ``service``, ``app``, ``job`` -
whichever the server has, or ``service_label=``); ``level``/``node``/``trace_id`` from labels or structured
metadata, else from a JSON or logfmt line; ``message`` is the line (or its ``message``/``msg`` field when
the line is JSON). Every user value reaches LogQL as an escaped string literal.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import AuthError, BackendError, InputError
from ...types import TimeRange
from .._client import RemoteClient
from .._duckstore import check_range
from ..signals.frames import check_limit, logs_frame, normalize_id, normalize_level

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)

SERVICE_LABELS = ("service_name", "service", "app", "job", "container")
LEVEL_KEYS = ("level", "detected_level", "severity", "lvl", "severity_text")
NODE_KEYS = ("node", "host", "hostname", "nodename", "host_name", "k8s_node_name")
TRACE_KEYS = ("trace_id", "traceID", "traceId", "traceid")
MESSAGE_KEYS = ("message", "msg", "log", "body")
_LOGFMT = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def logql_string(value: str) -> str:
    """A LogQL (Go) double-quoted string literal holding ``value`` exactly."""
    return json.dumps(str(value), ensure_ascii=False)


def selector(label: str, service: str | None) -> str:
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", label):
        raise InputError(f"{label!r} is not a Loki label name")
    return f"{{{label}={logql_string(service)}}}" if service else f'{{{label}=~".+"}}'


class LokiLogs(RemoteClient):
    """Logs from a Loki server, as log frames (implements :class:`~..base.LogsBackend`)."""

    WHAT = "Loki"

    def __init__(self, url: str, *, service_label: str | None = None, tenant: str | None = None,
                 batch_size: int = 5000, headers: Mapping[str, Any] | None = None, **http_options: Any) -> None:
        super().__init__(url, tenant=tenant, headers=headers, **http_options)
        self.service_label = service_label
        self.batch_size = check_limit(batch_size)

    # ---- the protocol -------------------------------------------------------------------------------------
    def logs(self, time_range: TimeRange, service: str | None = None, contains: str | None = None,
             limit: int = 100_000, *, level: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Lines of ``service`` (all services when None) containing ``contains``, oldest first.

        ``level`` is applied here to the (at most ``limit``) lines Loki returned, since levels may live in
        labels, structured metadata or the line itself.
        """
        label = self._service_label(time_range)
        logql = selector(label, service)
        if contains:
            logql += f" |= {logql_string(contains)}"
        frame = self.query(logql, time_range, limit=limit)
        if level:
            levels = {normalize_level(v) for v in ([level] if isinstance(level, str) else level)}
            kept = frame[frame["level"].isin(levels)].reset_index(drop=True)
            kept.attrs.update(frame.attrs)
            frame = kept
        return frame

    def query(self, logql: str, time_range: TimeRange, *, limit: int = 100_000) -> pd.DataFrame:
        """Any LogQL log query over ``time_range`` -> a log frame (``attrs["query"]`` holds the LogQL)."""
        check_limit(limit)
        check_range(time_range)
        start = _ns(time_range.start)
        end = _ns(time_range.end) + 1  # Loki's end is exclusive; TimeRange is closed
        rows: list[dict[str, Any]] = []
        boundary: set[tuple[int, str, str]] = set()
        truncated = False
        while True:
            want = min(self.batch_size, limit - len(rows) + 1)
            params = {"query": logql, "start": str(start), "end": str(end), "limit": str(want),
                      "direction": "forward"}
            got = self.http.get("/loki/api/v1/query_range", params, endpoint="/loki/api/v1/query_range",
                                query=logql)
            entries = _entries(got, self.url)
            fresh = [e for e in entries if (e[0], e[1], e[2]) not in boundary]
            for ts, key, line, labels in fresh:
                rows.append(self._row(ts, line, labels))
            if len(rows) > limit:
                rows, truncated = rows[:limit], True
                break
            if len(entries) < want:
                break
            last = entries[-1][0]
            if not fresh:  # more than a page of lines share one nanosecond: step past it rather than loop
                log.warning("Loki: over %d lines at %d ns; some of them are skipped (raise batch_size)",
                            len(entries), last)
                start, boundary = last + 1, set()
            else:
                start = last
                boundary = {(e[0], e[1], e[2]) for e in entries if e[0] == last}
        frame = logs_frame(rows, source=self.name, query=logql)
        frame.attrs["truncated"] = truncated
        return frame

    def services(self, time_range: TimeRange | None = None) -> list[str]:
        label = self._service_label(time_range)
        got = self.http.get(f"/loki/api/v1/label/{label}/values", _range_params(time_range),
                            endpoint="/loki/api/v1/label/<name>/values")
        return sorted(str(v) for v in (got or {}).get("data") or ())

    def labels(self, time_range: TimeRange | None = None) -> list[str]:
        got = self.http.get("/loki/api/v1/labels", _range_params(time_range), endpoint="/loki/api/v1/labels")
        return sorted(str(v) for v in (got or {}).get("data") or ())

    # ---- internals ----------------------------------------------------------------------------------------
    def _service_label(self, time_range: TimeRange | None) -> str:
        if self.service_label is None:
            try:
                have = set(self.labels(time_range))
            except AuthError:
                raise
            except BackendError as exc:  # some gateways do not expose /labels: assume Loki 3's service_name
                log.warning("Loki at %s: cannot list labels (%s); assuming %r", self.url, exc.message,
                            SERVICE_LABELS[0])
                have = set()
            self.service_label = next((c for c in SERVICE_LABELS if c in have), SERVICE_LABELS[0])
            log.info("Loki at %s: services are told apart by the label %r", self.url, self.service_label)
        return self.service_label

    def _row(self, ts: int, line: str, labels: dict[str, str]) -> dict[str, Any]:
        fields = _line_fields(line)
        label = self.service_label or SERVICE_LABELS[0]
        service = labels.get(label) or next((labels[c] for c in SERVICE_LABELS if labels.get(c)), "")
        message = next((str(fields[k]) for k in MESSAGE_KEYS if isinstance(fields.get(k), str)), line) \
            if fields.get("__json__") else line
        level = _first(labels, LEVEL_KEYS) or _first(fields, LEVEL_KEYS)
        trace = _first(labels, TRACE_KEYS) or _first(fields, TRACE_KEYS)
        try:
            trace_id = normalize_id(trace) if trace else ""
        except InputError:
            trace_id = ""
        return {"timestamp": ts, "service": service or str(fields.get("service", "")),
                "level": level, "message": message, "trace_id": trace_id,
                "node": _first(labels, NODE_KEYS) or _first(fields, NODE_KEYS)}


def _first(d: Mapping[str, Any], keys: Sequence[str]) -> str:
    for k in keys:
        v = d.get(k)
        if v not in (None, ""):
            return str(v)
    return ""


def _line_fields(line: str) -> dict[str, Any]:
    """Fields of a JSON line (``__json__`` set) or of a logfmt line; {} for plain text."""
    text = line.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            return {**obj, "__json__": True}
    if "=" in text:
        return {k: v[1:-1] if v.startswith('"') else v for k, v in _LOGFMT.findall(text)}
    return {}


def _entries(got: Any, url: str) -> list[tuple[int, str, str, dict[str, str]]]:
    """(ts ns, stream key, line, labels) of a query_range answer, in time order."""
    if not isinstance(got, Mapping) or got.get("status") != "success" or not isinstance(got.get("data"), Mapping):
        raise BackendError(f"{url} did not answer query_range with a Loki success payload", url=url,
                           hint="Check the URL points at Loki (or its gateway), e.g. http://loki:3100")
    data = got["data"]
    if data.get("resultType") != "streams":
        raise InputError(f"The LogQL query returned {data.get('resultType')!r}, not log lines",
                         hint="Use a log query ({...} |= ...), not a metric query (rate(...), count_over_time...)")
    out = []
    for stream in data.get("result") or ():
        labels = {str(k): str(v) for k, v in (stream.get("stream") or {}).items()}
        key = json.dumps(labels, sort_keys=True)
        for value in stream.get("values") or ():
            extra = value[2] if len(value) > 2 and isinstance(value[2], Mapping) else None
            lab = labels
            if extra:  # categorize-labels encoding: {"structuredMetadata": {...}, "parsed": {...}}
                lab = {**labels, **{str(k): str(v) for part in extra.values() if isinstance(part, Mapping)
                                    for k, v in part.items()}}
            out.append((int(value[0]), key, str(value[1]), lab))
    out.sort(key=lambda e: e[0])
    return out


def _ns(dt) -> int:
    import calendar

    return calendar.timegm(dt.utctimetuple()) * 1_000_000_000 + dt.microsecond * 1000


def _range_params(time_range: TimeRange | None) -> dict[str, str]:
    if time_range is None:
        return {}
    return {"start": str(_ns(time_range.start)), "end": str(_ns(time_range.end) + 1)}
