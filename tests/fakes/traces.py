"""Fake Tempo and Jaeger query APIs over the demo world's traces.jsonl (neither server can run here).

* Tempo, per https://grafana.com/docs/tempo/latest/api_docs/: ``/api/echo``; ``/api/search`` with
  ``q`` (TraceQL subset: ``{ }`` or ``{ resource.service.name = "x" }``; anything else is a 400),
  ``start``/``end`` in Unix seconds and ``limit``, answering ``traces`` with ``traceID`` (leading zeros
  stripped, as Tempo does), ``rootServiceName``, ``rootTraceName``, ``startTimeUnixNano``, ``durationMs``
  and ``spanSet``; ``/api/traces/<id>`` answering OTLP JSON under ``batches`` with base64 ids and enum
  names (as Tempo's v1 endpoint does), 404 when unknown; ``/api/search/tag/service.name/values``.
* Jaeger, per https://www.jaegertracing.io/docs/latest/apis/#http-json-internal: ``/api/services``,
  ``/api/traces?service=&start=&end=&limit=`` (microseconds; service required, else 400 with ``errors``),
  ``/api/traces/<id>`` (404 with ``errors`` when unknown), each wrapped in ``{"data", "total", "limit",
  "offset", "errors"}``; spans with ``references``, ``tags``, ``processID`` and a ``processes`` map.

The encodings are written out here, independently of the package's OTLP writer.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from .base import FakeServer, arg


def load_traces(path: Path) -> dict[str, list[dict[str, Any]]]:
    traces: dict[str, list[dict[str, Any]]] = {}
    for line in Path(path).read_text().splitlines():
        sp = json.loads(line)
        ts = datetime.fromisoformat(sp["start"].replace("Z", "+00:00"))
        sp["start_ns"] = int(ts.timestamp()) * 1_000_000_000 + ts.microsecond * 1000
        traces.setdefault(sp["trace_id"], []).append(sp)
    return traces


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def _kv(d: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for k, v in d.items():
        if isinstance(v, bool):
            val = {"boolValue": v}
        elif isinstance(v, int):
            val = {"intValue": str(v)}
        elif isinstance(v, float):
            val = {"doubleValue": v}
        else:
            val = {"stringValue": str(v)}
        out.append({"key": k, "value": val})
    return out


class FakeTempo(FakeServer):
    def __init__(self, traces_jsonl: Path, *, bearer_token: str | None = None) -> None:
        self.traces = load_traces(traces_jsonl)
        super().__init__(self._handle, bearer_token=bearer_token)

    def _handle(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        if path == "/api/echo":
            return 200, "echo"
        if path == "/api/search/tag/service.name/values":
            return 200, {"tagValues": sorted({s["service"] for t in self.traces.values() for s in t})}
        if path == "/api/search":
            q = arg(query, "q", "{}").strip()
            m = re.fullmatch(r'\{\s*(?:resource\.service\.name\s*=\s*("(?:[^"\\]|\\.)*")\s*)?\}', q)
            if not m:
                return 400, f'invalid TraceQL query: parse error at line 1, col 3: syntax error: {q[:20]!r}\n'
            service = json.loads(m.group(1)) if m.group(1) else None
            start, end = int(arg(query, "start")) * 10**9, int(arg(query, "end")) * 10**9
            limit = int(arg(query, "limit", "20"))
            hits = []
            for tid, spans in self.traces.items():
                match = [s for s in spans if service is None or s["service"] == service]
                if not match or not any(start <= s["start_ns"] <= end for s in match):
                    continue
                root = next((s for s in spans if s["parent_span_id"] is None), spans[0])
                hits.append({"traceID": tid.lstrip("0"), "rootServiceName": root["service"],
                             "rootTraceName": root["operation"], "startTimeUnixNano": str(root["start_ns"]),
                             "durationMs": int(root["duration"]),
                             "spanSet": {"spans": [{"spanID": s["span_id"], "startTimeUnixNano": str(s["start_ns"]),
                                                    "durationNanos": str(int(s["duration"] * 1e6))}
                                                   for s in match[:3]], "matched": len(match)}})
            hits.sort(key=lambda h: -int(h["startTimeUnixNano"]))  # most recent first
            return 200, {"traces": hits[:limit], "metrics": {"inspectedTraces": len(self.traces)}}
        m = re.fullmatch(r"/api/traces/([0-9a-fA-F]+)", path)
        if m:
            spans = self.traces.get(m.group(1).lower().rjust(32, "0"))
            if not spans:
                return 404, "trace not found\n"
            by_service: dict[str, list[dict[str, Any]]] = {}
            for s in spans:
                otlp = {"traceId": _b64(s["trace_id"]), "spanId": _b64(s["span_id"]), "name": s["operation"],
                        "kind": f"SPAN_KIND_{s['kind']}", "startTimeUnixNano": str(s["start_ns"]),
                        "endTimeUnixNano": str(s["start_ns"] + round(s["duration"] * 1e6)),
                        "attributes": _kv(s["attributes"]),
                        "status": {"code": "STATUS_CODE_ERROR"} if s["status"] == "ERROR" else {}}
                if s["parent_span_id"]:
                    otlp["parentSpanId"] = _b64(s["parent_span_id"])
                by_service.setdefault(s["service"], []).append(otlp)
            return 200, {"batches": [
                {"resource": {"attributes": _kv({"service.name": svc})},
                 "scopeSpans": [{"scope": {"name": "demo"}, "spans": sp}]} for svc, sp in by_service.items()]}
        return 404, "404 page not found\n"


def _jaeger_trace(tid: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    procs: dict[str, str] = {}
    out = []
    for s in spans:
        pid = procs.setdefault(s["service"], f"p{len(procs) + 1}")
        tags = [{"key": "span.kind", "type": "string", "value": s["kind"].lower()}]
        for k, v in s["attributes"].items():
            typ = "bool" if isinstance(v, bool) else "int64" if isinstance(v, int) else \
                "float64" if isinstance(v, float) else "string"
            tags.append({"key": k, "type": typ, "value": v})
        if s["status"] == "ERROR":
            tags.append({"key": "error", "type": "bool", "value": True})
        refs = [{"refType": "CHILD_OF", "traceID": tid, "spanID": s["parent_span_id"]}] if s["parent_span_id"] else []
        out.append({"traceID": tid, "spanID": s["span_id"], "flags": 1, "operationName": s["operation"],
                    "references": refs, "startTime": s["start_ns"] // 1000, "duration": round(s["duration"] * 1000),
                    "tags": tags, "logs": [], "processID": pid, "warnings": None})
    return {"traceID": tid, "spans": out, "warnings": None,
            "processes": {pid: {"serviceName": svc, "tags": []} for svc, pid in procs.items()}}


def _wrap(data: Any, status: int = 200, msg: str | None = None) -> tuple[int, Any]:
    return status, {"data": data, "total": len(data) if isinstance(data, list) else 0, "limit": 0, "offset": 0,
                    "errors": [{"code": status, "msg": msg}] if msg else None}


class FakeJaeger(FakeServer):
    def __init__(self, traces_jsonl: Path, *, bearer_token: str | None = None) -> None:
        self.traces = load_traces(traces_jsonl)
        super().__init__(self._handle, bearer_token=bearer_token)

    def _handle(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        if path == "/api/services":
            return _wrap(sorted({s["service"] for t in self.traces.values() for s in t}))
        if path == "/api/traces":
            service = arg(query, "service")
            if not service:
                return _wrap(None, 400, "parameter 'service' is required")
            start, end = int(arg(query, "start")) * 1000, int(arg(query, "end")) * 1000
            limit = int(arg(query, "limit", "20"))
            hits = [(tid, sp) for tid, sp in self.traces.items()
                    if any(s["service"] == service and start <= s["start_ns"] <= end for s in sp)]
            hits.sort(key=lambda h: -min(s["start_ns"] for s in h[1]))
            return _wrap([_jaeger_trace(tid, sp) for tid, sp in hits[:limit]])
        m = re.fullmatch(r"/api/traces/([0-9a-fA-F]+)", path)
        if m:
            tid = m.group(1).lower().rjust(32, "0")
            if tid not in self.traces:
                return _wrap(None, 404, "trace not found")
            return _wrap([_jaeger_trace(tid, self.traces[tid])])
        return 404, "404 page not found\n"
