"""OTLP/JSON logs and traces to rows (and back), as a collector's file exporter or Tempo writes them.

The encoding is the OpenTelemetry protocol's JSON mapping (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
lowerCamelCase keys, trace/span ids as hex strings, 64-bit integers (``timeUnixNano``, ``intValue``) as
decimal strings, enums as integers. Readers here are lenient where real producers differ: ids in base64
(Tempo's ``/api/traces/<id>``), enums by name (``SPAN_KIND_SERVER``, ``STATUS_CODE_ERROR``), the older
``instrumentationLibrarySpans``/``instrumentationLibraryLogs`` and Tempo's ``batches``.

A file may hold one JSON document or one per line (the collector's ``file`` exporter writes one
``ExportLogsServiceRequest`` / ``ExportTraceServiceRequest`` per line).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import InputError
from .frames import SPAN_KINDS, normalize_id, normalize_level, severity_level

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR"}
NODE_KEYS = ("k8s.node.name", "host.name", "node")


def any_value(v: Any) -> Any:
    """Decode an OTLP ``AnyValue`` ({"stringValue": ...}, {"intValue": "3"}, arrays, kvlists) to Python."""
    if not isinstance(v, Mapping):
        return v
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "intValue" in v:
        try:
            return int(v["intValue"])
        except (TypeError, ValueError):
            return v["intValue"]
    if "doubleValue" in v:
        try:
            return float(v["doubleValue"])
        except (TypeError, ValueError):
            return v["doubleValue"]
    if "arrayValue" in v:
        return [any_value(x) for x in (v["arrayValue"] or {}).get("values", []) or []]
    if "kvlistValue" in v:
        return attributes((v["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def attributes(items: Any) -> dict[str, Any]:
    """An OTLP ``KeyValue`` list -> a dict."""
    out: dict[str, Any] = {}
    for kv in items or ():
        if isinstance(kv, Mapping) and "key" in kv:
            out[str(kv["key"])] = any_value(kv.get("value"))
    return out


def encode_value(v: Any) -> dict[str, Any]:
    """A Python value -> an OTLP ``AnyValue``."""
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, str):
        return {"stringValue": v}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [encode_value(x) for x in v]}}
    if isinstance(v, Mapping):
        return {"kvlistValue": {"values": encode_attributes(v)}}
    return {"stringValue": json.dumps(v, default=str)}


def encode_attributes(d: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(k), "value": encode_value(v)} for k, v in d.items()]


def _ns(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return int(float(value))


def _kind(value: Any) -> str:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        k = int(value)
        return SPAN_KINDS[k] if 0 <= k < len(SPAN_KINDS) else "UNSPECIFIED"
    text = str(value or "").upper().removeprefix("SPAN_KIND_")
    return text or "UNSPECIFIED"


def _status(status: Any) -> str:
    code = (status or {}).get("code", 0) if isinstance(status, Mapping) else 0
    if isinstance(code, str) and not code.isdigit():
        code = code.upper().removeprefix("STATUS_CODE_")
        return "ERROR" if code == "ERROR" else "OK"
    return "ERROR" if int(code or 0) == 2 else "OK"


def _scopes(resource_block: Mapping[str, Any], *names: str) -> list[Mapping[str, Any]]:
    for name in names:
        got = resource_block.get(name)
        if got:
            return list(got)
    return []


def log_rows(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Rows (log columns, ``timestamp`` in Unix ns) from one ``{"resourceLogs": [...]}`` document."""
    for rl in doc.get("resourceLogs") or ():
        res = attributes((rl.get("resource") or {}).get("attributes"))
        service = str(res.get("service.name", ""))
        node = next((str(res[k]) for k in NODE_KEYS if k in res), "")
        for scope in _scopes(rl, "scopeLogs", "instrumentationLibraryLogs"):
            for rec in scope.get("logRecords") or ():
                attrs = attributes(rec.get("attributes"))
                body = any_value(rec.get("body"))
                if isinstance(body, (dict, list)):
                    body = json.dumps(body, sort_keys=True)
                level = normalize_level(rec.get("severityText")) or severity_level(rec.get("severityNumber"))
                yield {"timestamp": _ns(rec.get("timeUnixNano")) or _ns(rec.get("observedTimeUnixNano")),
                       "service": service or str(attrs.get("service.name", "")),
                       "level": level or normalize_level(attrs.get("level")),
                       "message": "" if body is None else str(body),
                       "trace_id": normalize_id(rec.get("traceId"), what="traceId"),
                       "node": node or next((str(attrs[k]) for k in NODE_KEYS if k in attrs), "")}


def span_rows(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Rows (span columns, ``start`` in Unix ns) from ``{"resourceSpans"|"batches": [...]}`` or ``{"trace": ...}``."""
    if isinstance(doc.get("trace"), Mapping):
        doc = doc["trace"]
    for rs in (doc.get("resourceSpans") or doc.get("batches") or ()):
        res = attributes((rs.get("resource") or {}).get("attributes"))
        service = str(res.get("service.name", ""))
        for scope in _scopes(rs, "scopeSpans", "instrumentationLibrarySpans"):
            for sp in scope.get("spans") or ():
                start, end = _ns(sp.get("startTimeUnixNano")), _ns(sp.get("endTimeUnixNano"))
                attrs = attributes(sp.get("attributes"))
                status = sp.get("status") or {}
                if isinstance(status, Mapping) and status.get("message") and "error" not in attrs:
                    attrs["error"] = str(status["message"])
                yield {"trace_id": normalize_id(sp.get("traceId"), what="traceId"),
                       "span_id": normalize_id(sp.get("spanId"), what="spanId"),
                       "parent_span_id": normalize_id(sp.get("parentSpanId"), what="parentSpanId") or None,
                       "service": service, "operation": str(sp.get("name", "")), "kind": _kind(sp.get("kind")),
                       "start": start, "duration_ms": max(end - start, 0) / 1e6, "status": _status(status),
                       "attributes": attrs}


def read_documents(path: str | Path) -> Iterator[dict[str, Any]]:
    """The JSON documents of a file: the whole file if it is one document, else one per non-empty line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read {p}: {exc}", hint="Pass a readable OTLP/JSON or JSON-lines file") from exc
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict):
        yield whole
        return
    if isinstance(whole, list):
        yield from (d for d in whole if isinstance(d, dict))
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{p} line {n} is not JSON: {exc}",
                             hint="OTLP files hold one JSON document, or one document per line") from exc
        if isinstance(doc, dict):
            yield doc


def _hex_or_b64(hex_id: str | None, encoding: str) -> str:
    if not hex_id:
        return ""
    return base64.b64encode(bytes.fromhex(hex_id)).decode() if encoding == "base64" else hex_id


def spans_to_otlp(frame: pd.DataFrame, *, id_encoding: str = "hex", enums: str = "int",
                  container: str = "resourceSpans") -> dict[str, Any]:
    """A span frame -> one OTLP/JSON document (one resource per service).

    ``id_encoding="base64"`` and ``enums="name"`` with ``container="batches"`` give what Tempo's
    ``/api/traces/<id>`` answers; the defaults are the OTLP/JSON spec's.
    """
    by_service: dict[str, list[dict[str, Any]]] = {}
    for row in frame.itertuples(index=False):
        start = int(row.start.value)
        end = start + round(float(row.duration_ms) * 1e6)
        kind_no = SPAN_KINDS.index(row.kind) if row.kind in SPAN_KINDS else 0
        code = 2 if row.status == "ERROR" else 0
        span = {"traceId": _hex_or_b64(row.trace_id, id_encoding), "spanId": _hex_or_b64(row.span_id, id_encoding),
                "name": row.operation,
                "kind": kind_no if enums == "int" else f"SPAN_KIND_{SPAN_KINDS[kind_no]}",
                "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
                "attributes": encode_attributes(row.attributes or {}),
                "status": {"code": code} if enums == "int" else ({"code": "STATUS_CODE_ERROR"} if code else {})}
        if row.parent_span_id:
            span["parentSpanId"] = _hex_or_b64(row.parent_span_id, id_encoding)
        by_service.setdefault(row.service, []).append(span)
    return {container: [{"resource": {"attributes": encode_attributes({"service.name": svc})},
                         "scopeSpans": [{"scope": {"name": "promv5-lab"}, "spans": spans}]}
                        for svc, spans in by_service.items()]}


_SEVERITY = {"TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21}


def logs_to_otlp(frame: pd.DataFrame) -> dict[str, Any]:
    """A log frame -> one OTLP/JSON ``resourceLogs`` document (one resource per service and node)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in frame.itertuples(index=False):
        rec: dict[str, Any] = {"timeUnixNano": str(int(row.timestamp.value)), "severityText": row.level,
                               "severityNumber": _SEVERITY.get(row.level, 0), "body": {"stringValue": row.message}}
        if row.trace_id:
            rec["traceId"] = row.trace_id
        groups.setdefault((row.service, row.node), []).append(rec)
    return {"resourceLogs": [
        {"resource": {"attributes": encode_attributes({"service.name": svc, **({"host.name": node} if node else {})})},
         "scopeLogs": [{"scope": {"name": "promv5-lab"}, "logRecords": recs}]}
        for (svc, node), recs in groups.items()]}
