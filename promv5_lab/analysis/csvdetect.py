"""``promv5-lab detect IN.csv --out OUT.csv``: NAB-format CSV in, scores and flags out, strictly online.

The scores come from the online ensemble of :mod:`.online` (each row's score uses only that row and
earlier ones); a row is flagged when its score is at least the threshold, by default
:data:`.online.NAB_THRESHOLD`, the one threshold NAB's standard profile chose for the whole corpus.
"""

from __future__ import annotations

import csv
import logging
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import InputError
from .online import NAB_THRESHOLD, OnlineConfig, score_series

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
               config: OnlineConfig | None = None, counter: bool = False) -> dict[str, float]:
    """Score ``src`` (each row's score uses only it and earlier rows) and write ``out``.

    Output columns: ``timestamp,value,anomaly_score,is_anomaly`` (``is_anomaly`` is 1 when
    ``anomaly_score >= threshold``; after a flag, the detector halves the next rows' scores for a
    while, see :mod:`.online`). Returns a small summary (rows, flags, seconds per row).
    """
    import time

    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"threshold must be in [0, 1], got {threshold}",
                         hint=f"scores are in [0, 1]; the NAB-tuned default is {NAB_THRESHOLD}")
    stamps, t, v = read_nab_csv(src)
    out_p = Path(out)
    try:
        fh = out_p.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out_p}: {exc.strerror or exc}", hint="check the output folder") from exc
    started = time.perf_counter()
    with fh:
        scores = score_series(t, v, config, counter=counter, report=threshold)
        took = time.perf_counter() - started
        flags = scores >= threshold
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["timestamp", "value", "anomaly_score", "is_anomaly"])
        for stamp, vi, s, f in zip(stamps, v, scores.tolist(), flags.tolist()):
            w.writerow([stamp, "" if math.isnan(vi) else repr(float(vi)), f"{s:.10f}", int(f)])
    log.debug("scored %s: %d rows in %.2f s", src, len(t), took)
    return {"rows": len(t), "flags": int(flags.sum()), "seconds": took, "us_per_row": 1e6 * took / len(t)}
