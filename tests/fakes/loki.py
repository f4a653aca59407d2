"""A fake Loki, following https://grafana.com/docs/loki/latest/reference/loki-http-api/ (no Loki can run here).

It serves the demo world's logs.jsonl as streams labelled ``{service_name, level, node}`` whose lines are
the original JSON records, and understands the LogQL subset the client writes: a stream selector of
``=``, ``!=``, ``=~``, ``!~`` matchers with double-quoted (Go-escaped) values, followed by line filters
``|=``, ``!=``, ``|~``, ``!~``. Anything else is a 400 with a plain-text ``parse error`` like Loki's.
``limit`` above ``max_entries`` (5000, Loki's default ``max_entries_limit_per_query``) is a 400 too.
Times: ``start``/``end`` in Unix nanoseconds, end exclusive; ``direction`` backward by default, as Loki.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from .base import FakeServer, arg

_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")')
_FILTER = re.compile(r'\s*(\|=|!=|\|~|!~)\s*("(?:[^"\\]|\\.)*")')


class ParseError(Exception):
    pass


def parse_logql(q: str):
    q = q.strip()
    if not q.startswith("{"):
        raise ParseError("parse error at line 1, col 1: syntax error: unexpected IDENTIFIER")
    matchers, pos = [], 1
    while True:
        m = _MATCHER.match(q, pos)
        if not m:
            raise ParseError(f"parse error at line 1, col {pos + 1}: syntax error: unexpected {q[pos:pos + 5]!r}")
        matchers.append((m.group(1), m.group(2), json.loads(m.group(3))))
        pos = m.end()
        while pos < len(q) and q[pos] == " ":
            pos += 1
        if pos < len(q) and q[pos] == ",":
            pos += 1
            continue
        if pos < len(q) and q[pos] == "}":
            pos += 1
            break
        raise ParseError(f"parse error at line 1, col {pos + 1}: syntax error: unexpected end of selector")
    filters = []
    while q[pos:].strip():
        m = _FILTER.match(q, pos)
        if not m:
            raise ParseError(f"parse error at line 1, col {pos + 1}: syntax error")
        filters.append((m.group(1), json.loads(m.group(2))))
        pos = m.end()
    return matchers, filters


def _label_ok(labels: dict[str, str], name: str, op: str, value: str) -> bool:
    have = labels.get(name, "")
    if op == "=":
        return have == value
    if op == "!=":
        return have != value
    hit = re.fullmatch(value, have) is not None
    return hit if op == "=~" else not hit


def _line_ok(line: str, op: str, value: str) -> bool:
    if op == "|=":
        return value in line
    if op == "!=":
        return value not in line
    hit = re.search(value, line) is not None
    return hit if op == "|~" else not hit


class FakeLoki(FakeServer):
    def __init__(self, logs_jsonl: Path, *, bearer_token: str | None = None, tenant: str | None = None,
                 max_entries: int = 5000) -> None:
        self.entries: list[tuple[int, dict[str, str], str]] = []
        for line in Path(logs_jsonl).read_text().splitlines():
            rec = json.loads(line)
            ts = datetime.fromisoformat(rec["timestamp"].replace("Z", "+00:00"))
            ns = int(ts.timestamp()) * 1_000_000_000 + ts.microsecond * 1000
            labels = {"service_name": rec["service"], "level": rec["level"].lower(), "node": rec["node"]}
            self.entries.append((ns, labels, line))
        self.entries.sort(key=lambda e: e[0])
        self.tenant = tenant
        self.max_entries = max_entries
        super().__init__(self._handle, bearer_token=bearer_token)

    def _handle(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        if self.tenant and headers.get("x-scope-orgid") != self.tenant:
            return 401, "no org id\n"
        if path == "/loki/api/v1/labels":
            return 200, {"status": "success", "data": sorted({k for _, lab, _ in self.entries for k in lab})}
        m = re.fullmatch(r"/loki/api/v1/label/([^/]+)/values", path)
        if m:
            return 200, {"status": "success",
                         "data": sorted({lab[m.group(1)] for _, lab, _ in self.entries if m.group(1) in lab})}
        if path != "/loki/api/v1/query_range":
            return 404, "404 page not found\n"
        try:
            matchers, filters = parse_logql(arg(query, "query", ""))
        except ParseError as exc:
            return 400, str(exc) + "\n"
        limit = int(arg(query, "limit", "100"))
        if limit > self.max_entries:
            return 400, f"max entries limit per query exceeded, limit > max_entries_limit ({limit} > {self.max_entries})\n"
        start, end = int(arg(query, "start")), int(arg(query, "end"))
        hits = [e for e in self.entries if start <= e[0] < end
                and all(_label_ok(e[1], *mt) for mt in matchers) and all(_line_ok(e[2], *f) for f in filters)]
        if arg(query, "direction", "backward") == "backward":
            hits = hits[::-1]
        hits = hits[:limit]
        streams: dict[str, dict[str, Any]] = {}
        for ns, labels, line in hits:
            key = json.dumps(labels, sort_keys=True)
            streams.setdefault(key, {"stream": labels, "values": []})["values"].append([str(ns), line])
        return 200, {"status": "success", "data": {"resultType": "streams", "result": list(streams.values()),
                                                   "stats": {"summary": {"totalEntriesReturned": len(hits)}}}}
