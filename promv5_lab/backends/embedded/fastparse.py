"""Vectorised OpenMetrics history parsing: numpy finds lines and fields, pyarrow interns series keys and
parses numbers. Exact for ``key value timestamp`` lines; any line it cannot split with certainty
(no timestamp, an exemplar, CRLF oddities) is handed to the careful parser in :mod:`.openmetrics`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ...errors import InputError
from .openmetrics import Parsed, _columns, parse_series_key, parse_text

log = logging.getLogger(__name__)

CHUNK_BYTES = 32 << 20
SPACE, HASH, NL, CR, LBRACE, RBRACE = 32, 35, 10, 13, 123, 125


BUFFER = 1 << 30  # string views address data buffers with int32 offsets: use 1 GiB windows
OVERLAP = 1 << 16  # a field never spans more than this (longer lines go to the careful parser)


def _strings(data: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """A pyarrow string_view array of data[lo[i]:hi[i]] without copying the bytes."""
    import pyarrow as pa

    n = len(lo)
    lens = (hi - lo).astype(np.int32)
    views = np.zeros((n, 16), dtype=np.uint8)
    views[:, 0:4] = lens.view(np.uint8).reshape(n, 4)
    ks = np.arange(12, dtype=np.int32)
    windows = np.lib.stride_tricks.sliding_window_view(data, 12) if len(data) >= 12 else None
    safe = lo <= len(data) - 12
    for a in range(0, n, 1 << 20):  # bounded temporaries
        sl = slice(a, a + (1 << 20))
        part = views[sl, 4:16]
        ok = safe[sl]
        if windows is not None:
            part[ok] = windows[lo[sl][ok]]
        for r in np.flatnonzero(~ok):  # the last few bytes of the file
            row = data[lo[sl][r]: lo[sl][r] + 12]
            part[r, : len(row)] = row
        part *= ks[None, :] < lens[sl, None]
        views[sl, 4:16] = part
    long = lens > 12
    buf_index = (lo // BUFFER).astype(np.int32)
    views[long, 8:12] = buf_index[long].view(np.uint8).reshape(-1, 4)
    views[long, 12:16] = (lo[long] - buf_index[long].astype(np.int64) * BUFFER).astype(np.int32).view(np.uint8).reshape(-1, 4)
    buffers = [pa.py_buffer(data[i: i + BUFFER + OVERLAP]) for i in range(0, max(len(data), 1), BUFFER)]
    return pa.Array.from_buffers(pa.string_view(), n, [None, pa.py_buffer(views), *buffers])


def parse_file_fast(path: str | Path) -> Parsed:
    """Parse an OpenMetrics file (timestamps in seconds) or a Prometheus text file with ms timestamps."""
    from ..._deps import require

    pa = require("pyarrow", "engine")
    import pyarrow.compute as pc

    p = Path(path)
    if not p.is_file():
        raise InputError(f"No such OpenMetrics file: {p}", hint="Run: promv5-lab simulate --out DIR")
    data = np.fromfile(p, dtype=np.uint8)
    tail = bytes(data[-64:]).rstrip()
    openmetrics = tail.endswith(b"# EOF")
    scale = 1000.0 if openmetrics else 1.0
    nl = np.flatnonzero(data == NL)
    starts = np.concatenate([[0], nl + 1])
    ends = np.concatenate([nl, [len(data)]])
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    cr = data[ends - 1] == CR
    ends = ends - cr
    comment = data[starts] == HASH
    meta_text = [bytes(data[s:e]).decode("utf-8", "replace") for s, e in zip(starts[comment], ends[comment])]
    s_lo, s_hi = starts[~comment], ends[~comment]
    # lines with a '#' after their start (exemplars) go to the careful parser
    hashes = np.flatnonzero(data == HASH)
    odd = np.zeros(len(s_lo), dtype=bool)
    if len(hashes) and len(s_lo):
        li = np.searchsorted(s_lo, hashes, "right") - 1
        inside = (li >= 0) & (hashes < s_hi[np.maximum(li, 0)])
        odd[li[inside]] = True
    spaces = np.flatnonzero(data == SPACE)
    k = np.searchsorted(spaces, s_hi)
    last = spaces[np.maximum(k - 1, 0)] if len(spaces) else np.zeros(len(s_lo), np.int64)
    second = spaces[np.maximum(k - 2, 0)] if len(spaces) else np.zeros(len(s_lo), np.int64)
    ok = (k >= 2) & (second > s_lo) & (last > second + 1) & (last < s_hi - 1) & ~odd & (s_hi - s_lo < OVERLAP)
    # the key must end with '}' or contain no '{' (else a space sat inside a label value)
    key_end = data[np.maximum(second - 1, 0)]
    ok &= key_end != SPACE
    brace_ok = key_end == RBRACE
    no_brace = ~brace_ok
    if no_brace.any():
        braces = np.flatnonzero(data == LBRACE)
        bi = np.searchsorted(braces, s_lo[no_brace])
        has = (bi < len(braces)) & (braces[np.minimum(bi, max(len(braces) - 1, 0))] < second[no_brace]) \
            if len(braces) else np.zeros(int(no_brace.sum()), bool)
        ok[np.flatnonzero(no_brace)[has]] = False
    keys_arr = pc.dictionary_encode(_strings(data, s_lo[ok], second[ok]))
    try:
        vals = pc.cast(_strings(data, second[ok] + 1, last[ok]), pa.float64()).to_numpy(zero_copy_only=False)
        tss = pc.cast(_strings(data, last[ok] + 1, s_hi[ok]), pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        # something unusual in a number: the careful parser reports it with its line number
        return parse_text(p.read_text(encoding="utf-8"))
    dictionary = keys_arr.dictionary.to_pylist()
    ids = np.asarray(keys_arr.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    series = [parse_series_key(k) for k in dictionary]
    ts_ms = np.round(tss * scale).astype(np.int64)
    meta_only = _columns([], [], [], scale, None, _meta(meta_text))
    parsed = Parsed(series, ids, ts_ms, vals, meta_only.metadata)
    if (~ok).any():
        slow_lines = [bytes(data[s:e]).decode("utf-8") for s, e in zip(s_lo[~ok], s_hi[~ok])]
        log.info("%d lines need the careful parser", len(slow_lines))
        extra = parse_text("\n".join(slow_lines) + ("\n# EOF\n" if openmetrics else "\n"))
        parsed = _merge(parsed, extra)
    return parsed


def _meta(lines: list[str]) -> dict[str, dict[str, str]]:
    meta: dict[str, dict[str, str]] = {}
    for line in lines:
        parts = line.split(None, 3)
        if len(parts) >= 3 and parts[1] in ("TYPE", "HELP", "UNIT"):
            meta.setdefault(parts[2], {})[parts[1]] = parts[3] if len(parts) > 3 else ""
    return meta


def _merge(a: Parsed, b: Parsed) -> Parsed:
    index = {tuple(sorted(s.items())): i for i, s in enumerate(a.series)}
    series = list(a.series)
    remap = np.empty(len(b.series), dtype=np.int64)
    for j, s in enumerate(b.series):
        key = tuple(sorted(s.items()))
        if key not in index:
            index[key] = len(series)
            series.append(s)
        remap[j] = index[key]
    ids = np.concatenate([a.ids, remap[b.ids] if len(b.ids) else b.ids])
    return Parsed(series, ids, np.concatenate([a.ts_ms, b.ts_ms]), np.concatenate([a.values, b.values]),
                  {**a.metadata, **b.metadata})
