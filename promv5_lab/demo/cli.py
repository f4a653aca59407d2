"""``promv5-lab simulate``: write a deterministic history of the demo shop, or serve it live."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to the ``promv5-lab`` app."""

    @app.command("simulate")
    def simulate_cmd(
        days: float = typer.Option(7.0, "--days", help="How many days of history to generate."),
        step: str = typer.Option("30s", "--step", help="Sample interval: 30s, 1m, or seconds."),
        seed: int = typer.Option(42, "--seed", help="Random seed; the same seed/end/days/step give the same bytes."),
        end: str = typer.Option(None, "--end", help="End of the history: ISO 8601 or Unix seconds (default now)."),
        out: Path = typer.Option(None, "--out", help="Output directory (default ./out/demo-<time>)."),
        quiet_tail: str = typer.Option("2h", "--quiet-tail", help="No incident starts or runs in this final span."),
        progress: bool = typer.Option(False, "--progress", help="Show a progress bar."),
        serve: bool = typer.Option(False, "--serve", help="Run the world live over HTTP instead of writing files."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on with --serve."),
        port: int = typer.Option(9464, "--port", help="Port to listen on with --serve (0 = any free port)."),
        time_scale: float = typer.Option(1.0, "--time-scale",
                                         help="With --serve: simulated seconds per wall-clock second."),
    ) -> None:
        """Generate the demo shop's metrics (OpenMetrics), incidents, logs and traces; or --serve it live.

        Live endpoints: GET /metrics, GET /metrics/node, GET /admin/state, GET|POST /admin/faults,
        DELETE /admin/faults/{id}, POST /admin/actions.
        """
        from ..types import as_utc, parse_duration

        if serve:
            from .server import serve_forever

            serve_forever(host=host, port=port, seed=seed, time_scale=time_scale, echo=typer.echo)
            return
        from .simulate import default_out_dir, simulate

        step_s = parse_duration(step)
        end_t = as_utc(end) if end else None
        summary = simulate(out or default_out_dir(), days=days, step_s=step_s, seed=seed, end=end_t,
                           progress=progress, quiet_tail_s=_quiet(quiet_tail))
        typer.echo(summary.describe())


def _quiet(text: str) -> float:
    from ..types import parse_duration

    return 0.0 if text.strip().rstrip("smhd") in ("0", "") else parse_duration(text)
