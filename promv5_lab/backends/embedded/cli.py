"""``promv5-lab embedded ...``: load a history into a store, serve the Prometheus API, snapshot a server.

    promv5-lab embedded load --from out/metrics.om --out store/
    promv5-lab embedded serve --data store/ --port 9091
    promv5-lab embedded import --from http://prom:9090 --match '{job="api"}' --start 2026-11-27T10:00:00Z --end now --out snap/
    promv5-lab embedded query --data store/ 'sum by (job) (rate(http_requests_total[5m]))'
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import typer

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Add the ``embedded`` command group to the ``promv5-lab`` app."""
    sub = typer.Typer(help="The embedded PromQL engine: load, serve and snapshot metric histories.",
                      no_args_is_help=True)
    sub.command("load")(load_command)
    sub.command("serve")(serve_command)
    sub.command("import")(import_command)
    sub.command("query")(query_command)
    app.add_typer(sub, name="embedded")


def load_command(
    src: Path = typer.Option(..., "--from", help="An OpenMetrics (or timestamped Prometheus text) file."),
    out: Path = typer.Option(..., "--out", help="Directory to write the store into (created if needed)."),
) -> None:
    """Parse an OpenMetrics history into a store directory that loads fast."""
    from .storage import Store

    t0 = time.perf_counter()
    store = Store.from_openmetrics(src)
    parsed = time.perf_counter() - t0
    store.save(out)
    typer.echo(f"Loaded {store.num_samples:,} samples in {len(store.labels):,} series from {src} in {parsed:.2f}s; "
               f"saved to {out}")


def serve_command(
    data: Path = typer.Option(..., "--data", help="A store directory, a directory with metrics.om, or an .om file."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(9090, "--port", help="Port to listen on (0 picks a free one)."),
) -> None:
    """Serve the Prometheus HTTP API (query, query_range, series, labels, metadata...) over a store."""
    from .backend import EmbeddedBackend
    from .server import make_server

    backend = EmbeddedBackend.open(data)
    httpd = make_server(backend, host, port)
    h, p = httpd.server_address[:2]
    typer.echo(f"Serving {backend.name} ({len(backend.store.labels):,} series, {backend.store.num_samples:,} samples) "
               f"at http://{h}:{p}  (Ctrl-C stops)", err=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        typer.echo("Stopped.", err=True)
    finally:
        httpd.server_close()


def import_command(
    url: str = typer.Option(..., "--from", help="Base URL of a live Prometheus-compatible server."),
    match: list[str] = typer.Option(..., "--match", help="Series selector to pull (repeatable)."),
    start: str = typer.Option(..., "--start", help="Start time (ISO 8601, Unix seconds or 'now')."),
    end: str = typer.Option("now", "--end", help="End time (ISO 8601, Unix seconds or 'now')."),
    out: Path = typer.Option(..., "--out", help="Directory to write the store into."),
    window: str = typer.Option("1h", "--window", help="How much history to pull per request."),
) -> None:
    """Snapshot raw samples from a live server into a store, to investigate offline."""
    from ...types import as_utc, parse_duration
    from .importer import import_prometheus

    s = int(as_utc(start).timestamp() * 1000)
    e = int(as_utc(end).timestamp() * 1000)
    store = import_prometheus(url, match, s, e, window_s=int(parse_duration(window)))
    store.save(out)
    typer.echo(f"Imported {store.num_samples:,} samples in {len(store.labels):,} series into {out}")


def query_command(
    promql: str = typer.Argument(..., help="The PromQL expression."),
    data: Path = typer.Option(..., "--data", help="A store directory, a directory with metrics.om, or an .om file."),
    at: str | None = typer.Option(None, "--time", "-t", help="Evaluation time (default: the end of the data)."),
) -> None:
    """Evaluate one instant query on the embedded engine and print Prometheus's JSON."""
    from ...types import as_utc
    from .backend import EmbeddedBackend
    from .server import render

    backend = EmbeddedBackend.open(data)
    if at is not None:
        t_ms = int(round(as_utc(at).timestamp() * 1000))
    else:
        bounds = backend.store.time_bounds()
        t_ms = bounds[1] if bounds else int(time.time() * 1000)
    res = backend.run(promql, time_ms=t_ms)
    typer.echo(json.dumps(render(res), indent=1))
