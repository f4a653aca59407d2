"""Read OpenMetrics / Prometheus text exposition with timestamps into columnar arrays.

The fast path splits each sample line from the right (``name{labels} value timestamp``) and parses each
distinct series key once; lines it cannot split safely (a label value with a space and no timestamp)
take a careful slow path. OpenMetrics timestamps are seconds; classic text-format timestamps are
milliseconds (a file is OpenMetrics when it ends with ``# EOF``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...types import MetricMetadata

log = logging.getLogger(__name__)

_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_TYPES = {"counter", "gauge", "histogram", "summary", "gaugehistogram", "stateset", "info", "unknown", "untyped"}


@dataclass
class Parsed:
    """Series keys, the series id of every sample, its timestamp (ms) and value, and family metadata."""

    series: list[dict[str, str]]
    ids: np.ndarray
    ts_ms: np.ndarray
    values: np.ndarray
    metadata: dict[str, MetricMetadata] = field(default_factory=dict)


def parse_series_key(key: str, lineno: int = 0) -> dict[str, str]:
    """``name{a="x",b="y"}`` -> {"__name__": name, "a": "x", "b": "y"}."""
    brace = key.find("{")
    name = key if brace < 0 else key[:brace]
    name = name.strip()
    labels: dict[str, str] = {}
    if name:
        if not _NAME_RE.fullmatch(name):
            raise InputError(f"Line {lineno}: invalid metric name {name!r}")
        labels["__name__"] = name
    if brace >= 0:
        if not key.endswith("}"):
            raise InputError(f"Line {lineno}: unterminated label set in {key[:80]!r}")
        body = key[brace + 1 : -1]
        pos = 0
        while pos < len(body):
            m = _LABEL_RE.match(body, pos)
            if not m:
                raise InputError(f"Line {lineno}: cannot read labels in {key[:120]!r}",
                                 hint='Labels look like {name="value",other="x"}')
            value = re.sub(r'\\[\\"n]', lambda e: _UNESCAPE[e.group(0)], m.group(2))
            labels[m.group(1)] = value
            pos = m.end()
    if not labels:
        raise InputError(f"Line {lineno}: a sample without a metric name")
    return labels


def _split_slow(line: str, lineno: int) -> tuple[str, str, str | None]:
    """Split a sample line honouring quoted label values; returns (key, value, timestamp or None)."""
    brace = line.find("{")
    if brace >= 0 and brace < (line.find(" ") if " " in line else len(line)):
        i, quoted = brace, False
        while i < len(line):
            c = line[i]
            if c == "\\" and quoted:
                i += 2
                continue
            if c == '"':
                quoted = not quoted
            elif c == "}" and not quoted:
                break
            i += 1
        key, rest = line[: i + 1], line[i + 1 :].split()
    else:
        parts = line.split()
        key, rest = parts[0], parts[1:]
    if not rest or len(rest) > 3:  # value [timestamp] [# exemplar...] is cut below
        raise InputError(f"Line {lineno}: cannot read sample {line[:120]!r}",
                         hint="Samples look like: name{label=\"v\"} 1.5 1700000000")
    return key, rest[0], rest[1] if len(rest) > 1 else None


def parse_text(text: str, *, default_ts_ms: int | None = None) -> Parsed:
    """Parse exposition text. Samples without a timestamp get ``default_ts_ms`` (error if None)."""
    openmetrics = text.rstrip().endswith("# EOF")
    scale = 1000.0 if openmetrics else 1.0
    meta: dict[str, dict[str, str]] = {}
    keys: list[str] = []
    vals: list[str] = []
    tss: list[str | None] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line[0] == "#":
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("TYPE", "HELP", "UNIT"):
                fam = meta.setdefault(parts[2], {})
                fam[parts[1]] = parts[3] if len(parts) > 3 else ""
            continue
        if " # {" in line:  # an OpenMetrics exemplar follows the sample
            line = line.split(" # {", 1)[0]
        parts = line.rsplit(" ", 2)
        if len(parts) == 3 and (parts[0].endswith("}") or "{" not in parts[0]) and parts[0].count('"') % 2 == 0:
            keys.append(parts[0])
            vals.append(parts[1])
            tss.append(parts[2])
        elif len(parts) == 2 and (parts[0].endswith("}") or "{" not in parts[0]):
            keys.append(parts[0])
            vals.append(parts[1])
            tss.append(None)
        else:
            k, v, t = _split_slow(line, lineno)
            keys.append(k)
            vals.append(v)
            tss.append(t)
    return _columns(keys, vals, tss, scale, default_ts_ms, meta)


def _columns(keys: list[str], vals: list[str], tss: list[str | None], scale: float,
             default_ts_ms: int | None, meta: dict[str, dict[str, str]]) -> Parsed:
    intern: dict[str, int] = {}
    ids = np.fromiter((intern.setdefault(k, len(intern)) for k in keys), dtype=np.int64, count=len(keys))
    try:
        values = np.array(vals, dtype=np.float64) if vals else np.zeros(0)
    except ValueError:
        values = np.array([_float(v) for v in vals], dtype=np.float64)
    if any(t is None for t in tss):
        if default_ts_ms is None:
            raise InputError("Some samples have no timestamp",
                             hint="The embedded store loads histories: every sample needs a timestamp")
        ts = np.array([float(t) * scale if t is not None else default_ts_ms for t in tss], dtype=np.float64)
    else:
        try:
            ts = np.array(tss, dtype=np.float64) * scale if tss else np.zeros(0)
        except ValueError as exc:
            raise InputError(f"A sample timestamp is not a number: {exc}") from exc
    series = [parse_series_key(k) for k in intern]
    metadata = {}
    for name, fam in meta.items():
        typ = fam.get("TYPE", "unknown")
        typ = "unknown" if typ == "untyped" or typ not in _TYPES else typ
        metadata[name] = MetricMetadata(name=name, type=typ, help=_unescape_help(fam.get("HELP", "")),
                                        unit=fam.get("UNIT", ""))
    return Parsed(series, ids, np.round(ts).astype(np.int64), values, metadata)


def _float(v: str) -> float:
    try:
        return float(v)
    except ValueError as exc:
        raise InputError(f"Sample value {v!r} is not a number") from exc


def _unescape_help(s: str) -> str:
    return s.replace("\\n", "\n").replace("\\\\", "\\")


def parse_file(path: str | Path, *, default_ts_ms: int | None = None) -> Parsed:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"No such OpenMetrics file: {p}", hint="Run: promv5-lab simulate --out DIR")
    text = p.read_text(encoding="utf-8")
    return parse_text(text, default_ts_ms=default_ts_ms)
