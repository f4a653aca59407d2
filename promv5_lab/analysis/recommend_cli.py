"""``tune-alerts``, ``recommend scaling|optimization``, ``dependencies`` and ``scan``: PromQL histories in,
rules / advice / a dependency map / anomalies out (text, or JSON with ``--json``)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import typer

from .forecast_cli import BACKEND_HELP, DATA_HELP, _end_of

QUERY_HELP = "PromQL (repeat --query for several)."


def histories(queries: list[str], history: str, step: str, backend: str | None, data: str | None) -> list:
    """One range ``QueryResult`` per query over the last ``history`` (the end of a local history for --data)."""
    from datetime import timedelta

    from ..backends import telemetry
    from ..config import load_settings
    from ..errors import InputError
    from ..types import TimeRange, parse_duration

    if backend and data:
        raise InputError("Pass either --backend or --data, not both")
    if not queries:
        raise InputError("No --query given", hint="pass --query PROMQL (repeat it for several queries)")
    step_s, span_s = parse_duration(step), parse_duration(history)
    settings = load_settings(backend_url=backend, data_dir=data)
    out = []
    with telemetry(settings) as be:
        end = _end_of(be) or datetime.now(timezone.utc)
        tr = TimeRange(end - timedelta(seconds=span_s), end, step_s)
        for q in queries:
            res = be.query_range(q, tr)
            if res.frame.empty:
                raise InputError(f"The query returned no data over the last {history}: {q}",
                                 hint="Check it with promv5-lab query, or widen --history")
            out.append(res)
    return out


def _wide(results) -> object:
    import pandas as pd

    from ..frames import to_wide

    cols = {}
    step = results[0].provenance.range.step_s
    for res in results:
        wide = to_wide(res.frame, step_s=step)
        for c in wide.columns:
            cols[str(c) if len(results) == 1 else f"{res.provenance.promql} {c}"] = wide[c]
    frame = pd.DataFrame(cols)
    frame.index.freq = pd.Timedelta(seconds=step)
    return frame


def _by_labels(wide):
    """Columns named by labels only (``{a="1"}``): usage and allocation queries differ in metric name."""
    out = wide.copy()
    out.columns = [str(c)[str(c).index("{"):] if "{" in str(c) else str(c) for c in wide.columns]
    out.index.freq = wide.index.freq
    return out


def register_recommend(app: typer.Typer) -> None:
    """Add ``tune-alerts``, ``recommend``, ``dependencies`` and ``scan``."""

    @app.command("tune-alerts")
    def tune_alerts_cmd(
        query: list[str] = typer.Option(..., "--query", "-q", help=QUERY_HELP),
        out: Path = typer.Option(..., "--out", "-o", help="Rules file to write (YAML for Prometheus rule_files)."),
        history: str = typer.Option("7d", "--history", help="History to learn from (e.g. 3d, 7d)."),
        step: str = typer.Option("1m", "--step", help="Resolution of the history."),
        for_: str = typer.Option("2m", "--for", help="How long the condition must hold before the alert fires."),
        sigmas: float = typer.Option(6.0, "--sigmas", help="Robust standard deviations above (below) the hourly median."),
        below: bool = typer.Option(False, "--below", help="Alert when the value drops (traffic, free space)."),
        name: list[str] = typer.Option(None, "--name", help="Alert name per --query (default: from the metric)."),
        backend: str = typer.Option(None, "--backend", "-b", help=BACKEND_HELP),
        data: str = typer.Option(None, "--data", "-d", help=DATA_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print thresholds and firing rates as JSON."),
    ) -> None:
        """Learn alert thresholds (per UTC hour for daily-cyclic series) and write Prometheus alerting rules."""
        from ..errors import InputError
        from .recommend import alert_tuning

        results = histories(query, history, step, backend, data)
        tuning = alert_tuning(results, sigmas=sigmas, for_=for_, direction="below" if below else "above",
                              names=name or None)
        try:
            out.write_text(tuning.to_yaml())
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc}", hint="choose a writable --out path") from exc
        if as_json:
            typer.echo(json.dumps({"rules_file": str(out), "params": dict(tuning.params), "rules": tuning.report()},
                                  indent=1))
            return
        for r in tuning.rules:
            typer.echo(f"{r.alert}: {len(r.series)} series, would have fired {r.alerts_per_day:.2f} times/day "
                       f"({r.firing_fraction:.3%} of the time) on the history")
        typer.echo(f"-> {out} (check with: promtool check rules {out})")

    rec = typer.Typer(help="Scaling and right-sizing advice from forecasts and history.", no_args_is_help=True)
    app.add_typer(rec, name="recommend")

    @rec.command("scaling")
    def scaling_cmd(
        query: str = typer.Option(..., "--query", "-q", help="Utilisation as a fraction of capacity (0..1), one series per workload."),
        replicas: int = typer.Option(..., "--replicas", help="Replicas running now."),
        target: float = typer.Option(0.7, "--target", help="Utilisation to stay under at the forecast peak."),
        horizon: str = typer.Option("7d", "--horizon", help="How far ahead to look."),
        history: str = typer.Option("7d", "--history"), step: str = typer.Option("5m", "--step"),
        backend: str = typer.Option(None, "--backend", "-b", help=BACKEND_HELP),
        data: str = typer.Option(None, "--data", "-d", help=DATA_HELP),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Replicas that keep utilisation under --target at the forecast peak (upper bound of the interval)."""
        from dataclasses import asdict

        from .recommend import scaling

        wide = _wide(histories([query], history, step, backend, data))
        advice = [scaling(wide[c], replicas, target=target, horizon=horizon, name=str(c)) for c in wide.columns]
        typer.echo(json.dumps([asdict(a) for a in advice], indent=1) if as_json
                   else "\n".join(a.describe() for a in advice))

    @rec.command("optimization")
    def optimization_cmd(
        query: str = typer.Option(..., "--query", "-q", help="Usage, one series per resource (e.g. RSS bytes)."),
        allocated: str = typer.Option(..., "--allocated", help="PromQL for the allocation of the same series (e.g. limits)."),
        threshold: float = typer.Option(0.4, "--threshold", help="Over-provisioned below this share used."),
        target: float = typer.Option(0.7, "--target", help="Share of the new allocation the peak should use."),
        history: str = typer.Option("7d", "--history"), step: str = typer.Option("5m", "--step"),
        backend: str = typer.Option(None, "--backend", "-b", help=BACKEND_HELP),
        data: str = typer.Option(None, "--data", "-d", help=DATA_HELP),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Resources whose p95 use is far below their allocation, and the allocation that would do."""
        from dataclasses import asdict

        from .recommend import optimization

        used, alloc = (_by_labels(_wide([r])) for r in histories([query, allocated], history, step, backend, data))
        limits = {str(c): float(alloc[c].dropna().iloc[-1]) for c in alloc.columns if alloc[c].notna().any()}
        found = optimization(used[[c for c in used.columns if str(c) in limits]], limits, threshold=threshold,
                             target=target)
        typer.echo(json.dumps([asdict(o) for o in found], indent=1) if as_json
                   else "\n".join(o.describe() for o in found) or "Nothing over-provisioned.")

    @app.command("dependencies")
    def dependencies_cmd(
        query: list[str] = typer.Option(..., "--query", "-q", help=QUERY_HELP),
        history: str = typer.Option("3d", "--history"), step: str = typer.Option("1m", "--step"),
        min_strength: float = typer.Option(0.3, "--min-strength", help="Smallest |correlation| that makes an edge."),
        max_lag: int = typer.Option(10, "--max-lag", help="Largest lead/lag tried, in steps."),
        backend: str = typer.Option(None, "--backend", "-b", help=BACKEND_HELP),
        data: str = typer.Option(None, "--data", "-d", help=DATA_HELP),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Which series lead or follow which (lagged correlation + Granger tests)."""
        from .dependencies import learn_dependencies

        deps = learn_dependencies(_wide(histories(query, history, step, backend, data)), min_strength=min_strength,
                                  max_lag=max_lag)
        typer.echo(json.dumps(deps.to_dict(), indent=1) if as_json
                   else "\n".join(e.describe() for e in deps) or "No dependencies above --min-strength.")

    @app.command("scan")
    def scan_cmd(
        query: list[str] = typer.Option(..., "--query", "-q", help=QUERY_HELP),
        history: str = typer.Option("1d", "--history"), step: str = typer.Option("1m", "--step"),
        target_fpr: float = typer.Option(0.005, "--target-fpr", help="False-positive rate the thresholds aim at."),
        cluster: str = typer.Option(None, "--cluster", help="Dask scheduler (tcp://HOST:8786); default: local threads."),
        backend: str = typer.Option(None, "--backend", "-b", help=BACKEND_HELP),
        data: str = typer.Option(None, "--data", "-d", help=DATA_HELP),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Fleet scan: every series of the queries scored with learned per-series thresholds; the anomalies."""
        from .fleet import scan

        res = scan(_wide(histories(query, history, step, backend, data)), cluster=cluster, target_fpr=target_fpr,
                   seasonality="auto", progress=True)
        if as_json:
            typer.echo(json.dumps({"params": {k: v for k, v in res.params.items() if k != "config"},
                                   "anomalies": [{"series": a.series, "start": a.start.isoformat(),
                                                  "end": a.end.isoformat(), "peak_score": a.peak_score,
                                                  "threshold": a.threshold, "samples": a.samples}
                                                 for a in res.anomalies]}, indent=1, default=str))
        else:
            from .learn import learning_note

            typer.echo("\n".join(a.describe() for a in res.anomalies) or "No anomalies.")
            note = learning_note(res)
            if note:
                typer.echo(note, err=True)
