"""``promv5-lab investigate``: why is something wrong at a time? (the lead wires ``register`` into the app)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``investigate`` to the ``promv5-lab`` app."""

    @app.command("investigate")
    def investigate_cmd(
        at: str = typer.Option(..., "--at", help="When it was wrong: ISO 8601 (2026-11-27T14:05:00Z), Unix "
                               "seconds or 'now'."),
        backend: str = typer.Option(None, "--backend", "-b", help="Prometheus-compatible base URL."),
        logs: str = typer.Option(None, "--logs", help="Logs: a Loki URL, or a directory/file (logs.jsonl, OTLP JSON)."),
        traces: str = typer.Option(None, "--traces", help="Traces: a Tempo/Jaeger URL, or a directory/file "
                                   "(traces.jsonl, OTLP JSON)."),
        data: str = typer.Option(None, "--data", "-d", help="A 'promv5-lab simulate' output: metrics on the embedded "
                                 "engine, logs and traces from the same folder. Neither --backend nor --data: the "
                                 "bundled demo history."),
        window: str = typer.Option("2h", "--window", "-w", help="How far before --at the trouble may have started."),
        step: str = typer.Option("60s", "--step", help="Resolution of the metric queries."),
        top: int = typer.Option(5, "--top", min=1, max=20, help="How many ranked causes to show."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON: root_causes (ranked {service, kind, "
                                     "confidence, evidence}), symptoms, timeline."),
    ) -> None:
        """Rank the likely root causes (service and kind) at a time, with the evidence: PromQL, log templates,
        trace ids, change events; and the timeline."""
        from .report import diagnosis_to_json, diagnosis_to_text

        d = investigate(at=at, backend=backend, logs=logs, traces=traces, data=data, window=window, step=step)
        if as_json:
            out = diagnosis_to_json(d)
            out["root_causes"] = out["root_causes"][:top]
            typer.echo(json.dumps(out, indent=1, ensure_ascii=True))
        else:
            from dataclasses import replace

            typer.echo(diagnosis_to_text(replace(d, root_causes=d.root_causes[:top])))


def investigate(*, at: str, backend: str | None = None, logs: str | None = None, traces: str | None = None,
                data: str | None = None, window: str = "2h", step: str = "60s"):
    """What the command does, as a function: open the sources, check the time, :func:`diagnose`."""
    from ...backends import telemetry
    from ...config import load_settings
    from ...errors import InputError
    from ...types import as_utc
    from .diagnosis import diagnose

    if backend and data:
        raise InputError("Pass either --backend or --data, not both",
                         hint="--backend URL for a live Prometheus, --data DIR for a simulated history")
    when = as_utc(at)
    settings = load_settings(backend_url=backend, data_dir=data)
    folder: Path | None = None
    if not backend:
        if data:
            folder = Path(data).expanduser()
        else:
            from ...demo.bundled import demo_history

            folder = Path(demo_history(settings.cache_dir))
            settings = load_settings(data_dir=str(folder))
    logs_be = _open("logs", logs, folder)
    traces_be = _open("traces", traces, folder)
    try:
        with telemetry(settings) as be:
            _check_time(be, when)
            return diagnose(be, when, logs=logs_be, traces=traces_be, window=window, step=step, progress=True)
    finally:
        for b in (logs_be, traces_be):
            close = getattr(b, "close", None)
            if close is not None:
                close()


def _open(kind: str, source: str | None, folder: Path | None):
    """A logs/traces backend from --logs/--traces, else from the data folder when it has the file."""
    if source is None and folder is not None and (folder / f"{kind}.jsonl").is_file():
        source = str(folder)
    if source is None:
        return None
    if kind == "logs":
        from ...backends.logs import open_logs

        return open_logs(source)
    from ...backends.traces import open_traces

    return open_traces(source)


def _check_time(be, when) -> None:
    """A local history only covers its span: say so instead of diagnosing an empty window."""
    from ...errors import InputError
    from ...types import as_utc

    store = getattr(be, "store", None)
    bounds = store.time_bounds() if store is not None and hasattr(store, "time_bounds") else None
    if not bounds:
        return
    lo, hi = as_utc(bounds[0] / 1000.0), as_utc(bounds[1] / 1000.0)
    if not lo <= when <= hi:
        raise InputError(f"--at {when.isoformat()} is outside the data ({lo.isoformat()} .. {hi.isoformat()})",
                         hint="Pick a time inside the history, e.g. an incident's start from incidents.json")
