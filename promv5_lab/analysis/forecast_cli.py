"""``promv5-lab forecast`` and ``promv5-lab capacity``: one result per series of a PromQL range query."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime, timezone

import typer

BACKEND_HELP = "Prometheus-compatible base URL."
DATA_HELP = "A 'promv5-lab simulate' output (embedded engine). Neither: the bundled demo history."


def register_forecast(app: typer.Typer) -> None:
    """Add ``forecast`` and ``capacity``."""

    @app.command("forecast")
    def forecast_cmd(
        query: str = typer.Option(..., "--query", "-q", help="PromQL; every series it returns is forecast."),
        horizon: str = typer.Option("1d", "--horizon", help="How far ahead to forecast (e.g. 6h, 7d)."),
        history: str = typer.Option("3d", "--history", help="How much history to fit on (e.g. 3d)."),
        step: str = typer.Option("5m", "--step", help="Resolution of the range query (e.g. 1m, 5m)."),
        level: float = typer.Option(0.8, "--level", help="Coverage of the prediction interval (0.8 = 80 %)."),
        damped: bool = typer.Option(False, "--damped", help="Damp the trend (forecasts level off)."),
        backend: str = typer.Option(None, "--backend", "-b", help=BACKEND_HELP),
        data: str = typer.Option(None, "--data", "-d", help=DATA_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON (with promql, range, step, model, parameters)."),
    ) -> None:
        """Forecast each series of a query with ETS (automatic daily/weekly/hourly season) and an interval."""
        from .forecast import Forecaster

        fc = Forecaster(level=level, damped=damped)
        out = []
        for name, series, prov in _series(query, history, step, backend, data):
            from ..types import parse_duration

            res = fc.forecast(series, parse_duration(horizon), name=name)
            end = res.mean.index[-1]
            if as_json:
                out.append({**prov, "series": name, "model": res.model, "parameters": res.params,
                            "level": res.level, "forecast": [
                                {"timestamp": t.isoformat(), "mean": _num(m), "lower": _num(lo), "upper": _num(hi)}
                                for t, m, lo, hi in zip(res.mean.index, res.mean, res.lower, res.upper)]})
            else:
                typer.echo(f"{name}: {res.model}; at {end:%Y-%m-%d %H:%M} UTC {res.mean.iloc[-1]:.6g} "
                           f"({res.level:.0%} interval {res.lower.iloc[-1]:.6g} to {res.upper.iloc[-1]:.6g})")
        if as_json:
            typer.echo(json.dumps(out, indent=1))

    @app.command("capacity")
    def capacity_cmd(
        query: str = typer.Option(..., "--query", "-q", help="PromQL; every series it returns is checked."),
        limit: float = typer.Option(..., "--limit", help="The value that means full/exhausted (e.g. 0 for avail bytes)."),
        horizon: str = typer.Option("7d", "--horizon", help="How far ahead to look (e.g. 7d)."),
        history: str = typer.Option("3d", "--history", help="How much history to fit on (e.g. 3d)."),
        step: str = typer.Option("5m", "--step", help="Resolution of the range query (e.g. 1m, 5m)."),
        level: float = typer.Option(0.8, "--level", help="Coverage of the time interval (0.8 = 80 %)."),
        simulations: int = typer.Option(500, "--simulations", help="Simulated forecast paths (>= 20)."),
        backend: str = typer.Option(None, "--backend", "-b", help=BACKEND_HELP),
        data: str = typer.Option(None, "--data", "-d", help=DATA_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON (with promql, range, step, model, parameters)."),
    ) -> None:
        """When each series of a query reaches --limit (rising or falling), with an interval and a probability."""
        from ..types import parse_duration
        from .capacity import time_to_limit

        out = []
        for name, series, prov in _series(query, history, step, backend, data):
            res = time_to_limit(series, limit, parse_duration(horizon), level=level, simulations=simulations,
                                name=name)
            if as_json:
                out.append({**prov, "series": name, "limit": res.limit, "direction": res.direction,
                            "now": res.now.isoformat(), "last_value": res.last_value, "horizon_s": res.horizon_s,
                            "eta_s": res.eta_s, "lower_s": res.lower_s, "upper_s": res.upper_s, "level": res.level,
                            "probability": res.probability, "sentence": res.describe(), "model": res.model,
                            "parameters": res.params})
            else:
                typer.echo(res.describe())
        if as_json:
            typer.echo(json.dumps(out, indent=1))


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _series(query: str, history: str, step: str, backend: str | None, data: str | None) -> Iterator[tuple]:
    """(name, series, provenance) for every series the query returns over the last ``history``."""
    from datetime import timedelta

    from ..backends import telemetry
    from ..config import load_settings
    from ..errors import InputError
    from ..frames import to_wide
    from ..types import TimeRange, as_utc, parse_duration

    if backend and data:
        raise InputError("Pass either --backend or --data, not both")
    step_s = parse_duration(step)
    span_s = parse_duration(history)
    settings = load_settings(backend_url=backend, data_dir=data)
    with telemetry(settings) as be:
        end = _end_of(be) or datetime.now(timezone.utc)
        tr = TimeRange(end - timedelta(seconds=span_s), end, step_s)
        res = be.query_range(query, tr)
    if res.frame.empty:
        raise InputError(f"The query returned no data over the last {history}: {query}",
                         hint="Check the metric name and labels (try it with promv5-lab query), or widen --history")
    wide = to_wide(res.frame, step_s=step_s)
    prov = {"promql": query, "range": {"start": as_utc(tr.start).isoformat(), "end": as_utc(tr.end).isoformat()},
            "step_s": step_s}
    for col in wide.columns:
        yield str(col), wide[col], prov


def _end_of(be) -> datetime | None:
    """End of a local history (embedded store), so old --data folders are not queried at 'now'."""
    from ..types import as_utc

    store = getattr(be, "store", None)
    bounds = store.time_bounds() if store is not None and hasattr(store, "time_bounds") else None
    return as_utc(bounds[1] / 1000.0) if bounds else None
