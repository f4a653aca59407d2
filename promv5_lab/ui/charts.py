"""HoloViews charts of an answer, with y-axis units: the magic, the widget and the app all draw through here.

A query's answer is one overlay (curves over time, or bars for an instant); a routed answer (anomalies,
forecast, capacity, diagnosis) is a column of its :class:`~promv5_lab.investigation.ChartPanel` s: flagged
spans shaded, forecast band and mean, the limit line, the crossing-time interval, the evidence window.
Values are scaled for the axis (:func:`promv5_lab.units.axis_scale`: seconds in ms, bytes in GiB, ratios in %)
and the axis says so.
"""

from __future__ import annotations

import math
from typing import Any

from .._deps import require

__all__ = ["answer_chart", "panel_chart"]

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _hv() -> Any:
    hv = require("holoviews", "app")
    require("holoviews.plotting.bokeh", "app")  # registers the renderer that .opts() needs
    return hv


def _title(text: str, limit: int = 90) -> str:
    text = text if len(text) < limit else text[: limit - 3] + "..."
    return text.replace("{", "{{").replace("}", "}}")  # HoloViews formats titles with str.format


def _naive(t: Any) -> Any:
    import pandas as pd

    ts = pd.Timestamp(t)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def _max_abs(*frames: Any) -> float:
    import numpy as np

    vals = [np.asarray(f, dtype=float) for f in frames if f is not None]
    vals = [v[np.isfinite(v)] for v in vals]
    vals = [v for v in vals if v.size]
    return float(max(np.abs(v).max() for v in vals)) if vals else 0.0


def panel_chart(panel: Any, *, height: int = 260) -> Any:
    """One :class:`~promv5_lab.investigation.ChartPanel` as a HoloViews overlay."""
    import pandas as pd

    from ..units import axis_scale

    hv = _hv()
    obs = panel.observed
    fc = panel.forecast
    extra = [panel.limit] if panel.limit is not None else []
    factor, label = axis_scale(panel.unit, _max_abs(obs.to_numpy(), None if fc is None else fc.to_numpy(), extra))
    index = pd.DatetimeIndex(obs.index).tz_convert("UTC").tz_localize(None)
    layers: list[Any] = []
    for span in panel.spans:
        layers.append(hv.VSpan(_naive(span[0]), _naive(span[1])).opts(color="#d62728", alpha=0.18))
    for i, col in enumerate(list(obs.columns)):
        df = pd.DataFrame({"time": index, "value": obs[col].to_numpy(dtype=float) * factor})
        name = str(col)
        layers.append(hv.Curve(df, "time", "value", label=name[:60]).opts(color=COLORS[i % len(COLORS)]))
    if fc is not None and not fc.empty:
        fidx = pd.DatetimeIndex(fc.index).tz_convert("UTC").tz_localize(None)
        band = pd.DataFrame({"time": fidx, "lower": fc["lower"].to_numpy(float) * factor,
                             "upper": fc["upper"].to_numpy(float) * factor})
        lvl = f"{panel.level:.0%} interval" if panel.level else "interval"
        layers.append(hv.Area(band, "time", ["lower", "upper"], label=lvl).opts(color="#ff7f0e", alpha=0.25,
                                                                               line_alpha=0))
        mean = pd.DataFrame({"time": fidx, "value": fc["mean"].to_numpy(float) * factor})
        layers.append(hv.Curve(mean, "time", "value", label="forecast").opts(color="#ff7f0e", line_dash="dashed"))
    if panel.limit is not None and math.isfinite(panel.limit):
        layers.append(hv.HLine(panel.limit * factor).opts(color="#d62728", line_dash="dotted", line_width=2))
    for _name, at in panel.marks:
        layers.append(hv.VLine(_naive(at)).opts(color="#555555", line_dash="dotdash", line_width=1))
    title = panel.title + (f" (shaded: {panel.span_label})" if panel.spans and panel.span_label else "")
    return hv.Overlay(layers).opts(title=_title(title, 110), xlabel="time (UTC)", ylabel=label or "value",
                                   responsive=True, height=height, show_legend=len(obs.columns) > 1 or fc is not None)


def _query_chart(answer: Any) -> Any:
    from ..frames import TIME, VALUE, label_columns
    from ..units import axis_scale, infer_unit

    hv = _hv()
    frame = answer.result.frame
    labels = label_columns(frame)
    factor, ylabel = axis_scale(infer_unit(answer.promql), _max_abs(frame[VALUE].to_numpy()))
    title = _title(answer.promql or "")
    frame = frame.assign(**{VALUE: frame[VALUE].astype(float) * factor})
    if answer.plan is not None and answer.plan.kind == "instant":
        keyed = frame.assign(series=frame[labels].astype(str).agg(",".join, axis=1) if labels else "value")
        return hv.Bars(keyed, "series", VALUE).opts(title=title, ylabel=ylabel or "value")
    curves = []
    groups = frame.groupby(labels, sort=True, dropna=False) if labels else [((), frame)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        name = ",".join(f"{k}={v}" for k, v in zip(labels, key) if isinstance(v, str)) or "value"
        g = g.assign(**{TIME: g[TIME].dt.tz_convert("UTC").dt.tz_localize(None)})
        curves.append(hv.Curve(g, TIME, VALUE, label=name))
    return hv.Overlay(curves).opts(title=title, xlabel="time (UTC)", ylabel=ylabel or "value")


def answer_chart(answer: Any, *, height: int = 260) -> Any:
    """The chart of an answer: its query result, or its routed panels in a column; None when it has none."""
    charts = tuple(getattr(answer, "charts", ()) or ())
    if charts:
        hv = _hv()
        plots = [panel_chart(p, height=height) for p in charts]
        return plots[0] if len(plots) == 1 else hv.Layout(plots).cols(1)
    res = answer.result
    if res is None or res.frame.empty or not answer.promql:
        return None
    return _query_chart(answer)
