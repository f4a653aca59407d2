"""``promv5-lab query`` and ``promv5-lab prometheus up``: the live-backend commands.

``query`` runs PromQL against a Prometheus-compatible server (auth and TLS come from the settings:
``PROMV5_BEARER_TOKEN``, ``PROMV5_BASIC_AUTH_USER``... or the config file), or against a local history
(``--data DIR``, through :func:`promv5_lab.backends.telemetry`). ``prometheus up`` backfills a
``simulate`` output into a local Prometheus and keeps it running until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:  # pragma: no cover
    from ..types import QueryResult

log = logging.getLogger(__name__)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def register(app: typer.Typer) -> None:
    """Add ``query`` and the ``prometheus`` group to the ``promv5-lab`` app."""
    app.command("query")(query_command)
    prom = typer.Typer(help="Run a local Prometheus over a simulated history.", no_args_is_help=True)
    prom.command("up")(prometheus_up_command)
    app.add_typer(prom, name="prometheus")


def query_command(
    promql: str = typer.Argument(
        ..., help="The PromQL expression, e.g. 'sum by (service) (rate(http_requests_total[5m]))'."),
    backend: Optional[str] = typer.Option(
        None, "--backend", "-b", help="Prometheus-compatible base URL (or PROMV5_BACKEND_URL)."),
    at: Optional[str] = typer.Option(
        None, "--time", "-t", help="Evaluation time (ISO 8601, Unix seconds, 'now'); with --range, the end."),
    range_: Optional[str] = typer.Option(
        None, "--range", "-r", help="Range query over this duration ending at --time (e.g. 1h, 30m, 7d)."),
    step: Optional[str] = typer.Option(
        None, "--step", "-s", help="Range query resolution (e.g. 30s); default ~240 points."),
    data: Optional[Path] = typer.Option(
        None, "--data", "-d", help="A 'simulate' output or snapshot directory, read by the embedded engine."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="Output format."),
    timeout: Optional[float] = typer.Option(
        None, "--timeout", help="Seconds to wait for the server (default 10)."),
) -> None:
    """Run one PromQL query against a live backend (--backend), a local history (--data), or by default the
    bundled demo history (generated on first use, always ending now)."""
    from ..config import load_settings
    from ..errors import InputError
    from ..types import TimeRange, as_utc, parse_duration
    from . import telemetry

    if backend and data:
        raise InputError("Pass either --backend or --data, not both")
    settings = load_settings(backend_url=backend, data_dir=data, timeout_s=timeout)
    if step is not None and range_ is None:
        raise InputError("--step only makes sense with --range", hint="e.g. --range 1h --step 30s")
    with telemetry(settings) as source:
        if range_ is not None:
            end = as_utc(at) if at is not None else None
            tr = TimeRange.last(parse_duration(range_), step=step, end=end)
            result = source.query_range(promql, tr)
        else:
            result = source.query(promql, time=as_utc(at) if at is not None else None)
    _print_result(result, fmt)


def _print_result(result: QueryResult, fmt: OutputFormat) -> None:
    frame = result.frame
    for w in result.warnings:
        typer.echo(f"Warning from the server: {w}", err=True)
    if fmt is OutputFormat.csv:
        out = frame.copy()
        out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat())
        sys.stdout.write(out.to_csv(index=False))
    elif fmt is OutputFormat.json:
        records = []
        for row in frame.to_dict(orient="records"):
            row["timestamp"] = row["timestamp"].isoformat()
            v = row["value"]
            row["value"] = v if v == v and v not in (float("inf"), float("-inf")) else str(v)
            records.append(row)
        p = result.provenance
        doc = {
            "query": p.promql,
            "backend": p.backend,
            "kind": p.kind,
            "time": p.time.isoformat() if p.time else None,
            "range": (
                {"start": p.range.start.isoformat(), "end": p.range.end.isoformat(), "step_s": p.range.step_s}
                if p.range else None
            ),
            "result_type": result.result_type,
            "warnings": list(result.warnings),
            "data": records,
        }
        typer.echo(json.dumps(doc, indent=1))
    else:
        if frame.empty:
            typer.echo("(no data)")
        else:
            typer.echo(frame.to_string(index=False, max_rows=200))
        typer.echo(f"# {result.provenance.describe()}  ({result.series_count} series, {len(frame)} samples)",
                   err=True)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Ctrl-C and SIGTERM both stop the server cleanly (even if a parent shell ignored SIGINT)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, _raise) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def prometheus_up_command(
    data: Path = typer.Option(
        ..., "--data", "-d", help="A 'promv5-lab simulate' output directory (has metrics.om)."),
    port: Optional[int] = typer.Option(None, "--port", "-p", help="Port on 127.0.0.1 (default: a free one)."),
    scrape: list[str] = typer.Option(
        [], "--scrape", help="Also scrape this live exporter (host:port), e.g. a 'simulate --serve'."),
    fresh: bool = typer.Option(
        False, "--fresh", help="Backfill again even if DIR/.prometheus is up to date."),
) -> None:
    """Backfill a simulated history into a local Prometheus and keep it running until Ctrl-C."""
    from ..errors import HarnessError, InputError
    from .harness import PrometheusHarness

    om = data / "metrics.om"
    if not om.is_file():
        raise InputError(f"No metrics.om in {data}",
                         hint=f"Create one: promv5-lab simulate --days 3 --out {data}")
    if port is not None and not (0 < port < 65536):
        raise InputError(f"--port {port} is not a TCP port",
                         hint="Use 1..65535, or leave it out for a free one")
    workdir = data / ".prometheus"
    stamp = workdir / "backfilled-from"
    st = om.stat()
    fingerprint = f"{st.st_size} {st.st_mtime_ns}"
    harness = PrometheusHarness(workdir, port=port, scrape_targets=scrape)
    if fresh or not stamp.is_file() or stamp.read_text() != fingerprint:
        import shutil

        shutil.rmtree(harness.tsdb_dir, ignore_errors=True)
        stamp.unlink(missing_ok=True)
        typer.echo(f"Backfilling {om} with promtool...", err=True)
        t0 = time.monotonic()
        harness.backfill(om)
        stamp.write_text(fingerprint)
        typer.echo(f"Backfilled in {time.monotonic() - t0:.1f}s", err=True)
    with harness, _sigterm_as_interrupt():
        harness.start()
        typer.echo(f"Prometheus is serving {data} at {harness.url}")
        typer.echo(f"Try: promv5-lab query 'up' --backend {harness.url}   (Ctrl-C stops it)")
        sys.stdout.flush()
        while harness.running:
            time.sleep(0.5)
        raise HarnessError(
            f"Prometheus at {harness.url} exited unexpectedly", hint=f"See its log: {harness.logfile}"
        )
