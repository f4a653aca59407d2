"""``promv5-lab detect IN.csv --out OUT.csv``: NAB-format CSV in, scores and flags out, strictly online."""

from __future__ import annotations

import csv
import logging
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import InputError
from .detect import DetectorConfig, DetectorState
from .learn import NAB_THRESHOLD

__all__ = ["detect_csv", "read_nab_csv"]

log = logging.getLogger(__name__)

_HINT = "the file needs a header 'timestamp,value' and rows like '2014-04-01 00:00:00,20.5' (NAB format)"


def _parse_time(text: str, path: Path, line: int) -> float:
    s = text.strip()
    try:
        return float(s)  # Unix seconds are accepted too
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{path}:{line}: cannot read timestamp {text!r}", hint=_HINT) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def read_nab_csv(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read ``timestamp,value`` rows: the timestamp strings as written, epoch seconds and values.

    Empty values are missing samples (NaN); anything else that is not a number is an error.
    """
    p = Path(path)
    try:
        fh = p.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot open {p}: {exc.strerror or exc}", hint="check the path") from exc
    stamps: list[str] = []
    t: list[float] = []
    v: list[float] = []
    with fh:
        try:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise InputError(f"{p} is empty", hint=_HINT)
            cols = [h.strip().lower() for h in header]
            if "timestamp" not in cols or "value" not in cols:
                raise InputError(f"{p}: header {header!r} has no 'timestamp' and 'value' columns", hint=_HINT)
            it, iv = cols.index("timestamp"), cols.index("value")
            for line, row in enumerate(reader, start=2):
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) <= max(it, iv):
                    raise InputError(f"{p}:{line}: expected {len(cols)} fields, got {len(row)}", hint=_HINT)
                ts = _parse_time(row[it], p, line)
                raw = row[iv].strip()
                try:
                    val = float(raw) if raw else math.nan
                except ValueError:
                    raise InputError(f"{p}:{line}: value {raw!r} is not a number", hint=_HINT) from None
                if math.isinf(val):
                    raise InputError(f"{p}:{line}: value {raw!r} is infinite", hint=_HINT)
                stamps.append(row[it])
                t.append(ts)
                v.append(val)
        except UnicodeDecodeError as exc:
            raise InputError(f"{p} is not UTF-8 text", hint=_HINT) from exc
        except csv.Error as exc:
            raise InputError(f"{p}: malformed CSV ({exc})", hint=_HINT) from exc
    if not t:
        raise InputError(f"{p} has a header but no rows", hint=_HINT)
    return stamps, np.asarray(t), np.asarray(v)


def detect_csv(src: str | Path, out: str | Path, *, threshold: float = NAB_THRESHOLD,
               config: DetectorConfig | None = None, counter: bool = False) -> dict[str, float]:
    """Score ``src`` one row at a time (each score uses only earlier rows) and write ``out``.

    Output columns: ``timestamp,value,anomaly_score,is_anomaly`` (``is_anomaly`` is 1 when
    ``anomaly_score >= threshold``). Returns a small summary (rows, flags, seconds per row).
    """
    import time

    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"threshold must be in [0, 1], got {threshold}")
    stamps, t, v = read_nab_csv(src)
    state = DetectorState(1, config, [counter])
    x = np.empty(1)
    started = time.perf_counter()
    flags = 0
    out_p = Path(out)
    try:
        fh = out_p.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out_p}: {exc.strerror or exc}", hint="check the output folder") from exc
    with fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["timestamp", "value", "anomaly_score", "is_anomaly"])
        for stamp, ti, vi in zip(stamps, t, v):
            x[0] = vi
            s = float(state.step(ti, x)[0])
            flag = int(s >= threshold)
            flags += flag
            w.writerow([stamp, "" if math.isnan(vi) else repr(float(vi)), f"{s:.10f}", flag])
    took = time.perf_counter() - started
    return {"rows": len(t), "flags": flags, "seconds": took, "us_per_row": 1e6 * took / len(t)}
