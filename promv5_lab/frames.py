"""The one place that knows promv5-lab's pandas conventions.

Tidy ("long") frames come out of every backend: one row per sample, a ``timestamp`` column
(``datetime64[ns, UTC]``), a ``value`` column (float64) and one string column per label, sorted by
labels then time. :func:`to_wide` turns one into a frame for detectors and forecasters: a UTC
``DatetimeIndex`` with its ``freq`` set, one column per series, NaN where a sample is missing (never
forward-filled). Functions here never mutate their inputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

TIME = "timestamp"
VALUE = "value"
RESERVED = (TIME, VALUE)


def _float(v: Any) -> float:
    # Prometheus encodes sample values as strings, including "NaN", "+Inf", "-Inf".
    return float(v)


def label_columns(frame: pd.DataFrame) -> list[str]:
    """The label columns of a tidy frame (everything but timestamp and value)."""
    return [c for c in frame.columns if c not in RESERVED]


def _safe_label(name: str) -> str:
    # A label literally called "timestamp" or "value" would collide with our columns.
    return f"label_{name}" if name in RESERVED else name


def from_prometheus(result_type: str, result: Any) -> pd.DataFrame:
    """Build a tidy frame from the ``data.result`` of a Prometheus query API response."""
    import numpy as np
    import pandas as pd

    rows_labels: list[Mapping[str, str]] = []
    ts_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []
    if result_type == "matrix":
        for series in result:
            values = series.get("values", [])
            if not values:
                continue
            arr = np.asarray(values, dtype=object)
            ts_parts.append(arr[:, 0].astype(np.float64))
            val_parts.append(np.array([_float(v) for v in arr[:, 1]], dtype=np.float64))
            rows_labels.append(series.get("metric", {}))
    elif result_type == "vector":
        for sample in result:
            ts, v = sample["value"]
            ts_parts.append(np.array([float(ts)]))
            val_parts.append(np.array([_float(v)]))
            rows_labels.append(sample.get("metric", {}))
    elif result_type in ("scalar", "string"):
        ts, v = result
        ts_parts.append(np.array([float(ts)]))
        try:
            val_parts.append(np.array([_float(v)]))
        except ValueError:
            val_parts.append(np.array([math.nan]))
        rows_labels.append({})
    else:
        raise InputError(f"Unknown Prometheus result type {result_type!r}")
    return _assemble(rows_labels, ts_parts, val_parts)


def from_series(series: Iterable[tuple[Mapping[str, str], Sequence[float], Sequence[float]]]) -> pd.DataFrame:
    """Build a tidy frame from ``(labels, unix_seconds, values)`` triples (used by in-process engines)."""
    import numpy as np

    labels, ts, vals = [], [], []
    for lab, t, v in series:
        labels.append(lab)
        ts.append(np.asarray(t, dtype=np.float64))
        vals.append(np.asarray(v, dtype=np.float64))
    return _assemble(labels, ts, vals)


def _assemble(labels: list[Mapping[str, str]], ts_parts: list, val_parts: list) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    names = sorted({_safe_label(k) for lab in labels for k in lab})
    if not ts_parts:
        cols: dict[str, Any] = {TIME: pd.Series([], dtype="datetime64[ns, UTC]"), VALUE: pd.Series([], dtype="float64")}
        for n in names:
            cols[n] = pd.Series([], dtype="object")
        return pd.DataFrame(cols)
    lengths = [len(t) for t in ts_parts]
    ts = np.concatenate(ts_parts)
    data: dict[str, Any] = {
        TIME: pd.to_datetime(np.round(ts * 1000).astype("int64"), unit="ms", utc=True).as_unit("ns"),
        VALUE: np.concatenate(val_parts).astype(np.float64),
    }
    for n in names:
        raw = n[len("label_"):] if n.startswith("label_") and n[len("label_"):] in RESERVED else n
        data[n] = np.repeat(np.array([lab.get(raw, "") for lab in labels], dtype=object), lengths)
    frame = pd.DataFrame(data)
    order = names + [TIME]
    return frame.sort_values(order, kind="stable", ignore_index=True)[[TIME, VALUE, *names]]


def series_key(labels: Mapping[str, str]) -> str:
    """A readable, stable name for one series: ``metric{a="1",b="2"}``."""
    name = labels.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__" and v != "")
    return f"{name}{{{rest}}}" if rest or not name else name


def to_wide(frame: pd.DataFrame, *, step_s: float | None = None) -> pd.DataFrame:
    """Pivot a tidy frame to one column per series on a regular UTC ``DatetimeIndex`` with ``freq`` set.

    ``step_s`` defaults to the smallest spacing between timestamps. Missing samples are NaN.
    """
    import numpy as np
    import pandas as pd

    if TIME not in frame.columns or VALUE not in frame.columns:
        raise InputError(
            "to_wide() needs a tidy frame with 'timestamp' and 'value' columns",
            hint="Pass the .frame of a QueryResult from a backend",
        )
    labels = label_columns(frame)
    if frame.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"))
    if labels:
        # one name per series, not per row (a row-wise apply took seconds on 10,000 rows)
        as_text = frame[labels].astype(str)
        codes = as_text.groupby(labels, sort=False, dropna=False).ngroup().to_numpy()
        first = ~pd.Series(codes).duplicated().to_numpy()
        names = {int(c): series_key(r) for c, r in zip(codes[first], as_text[first].to_dict("records"))}
        lookup = np.array([names[i] for i in range(len(names))], dtype=object)
        keys = pd.Series(lookup[codes], index=frame.index)
    else:
        keys = pd.Series(["value"] * len(frame), index=frame.index)
    ts = frame[TIME].astype("datetime64[ns, UTC]")
    if step_s is None:
        uniq = np.unique(ts.astype("int64").to_numpy())
        diffs = np.diff(uniq)
        step_ns = int(diffs.min()) if diffs.size else 60 * 10**9
    else:
        step_ns = int(round(step_s * 1e9))
    if step_ns <= 0:
        raise InputError(f"to_wide() step must be positive, got {step_s!r}")
    freq = pd.Timedelta(step_ns, unit="ns")
    index = pd.date_range(ts.min(), ts.max(), freq=freq, tz="UTC")
    wide = (
        pd.DataFrame({"key": keys.to_numpy(), TIME: ts.to_numpy(), VALUE: frame[VALUE].to_numpy()})
        .pivot_table(index=TIME, columns="key", values=VALUE, aggfunc="last", dropna=False)
        .reindex(index)
    )
    wide.columns.name = None
    wide.index.name = TIME
    wide.index.freq = freq
    return wide
