"""``promv5-lab watch``: follow a live backend, print anomalies as they happen (text or JSON lines)."""

from __future__ import annotations

import json

import typer

DEFAULT_QUERIES = (
    'sum by (service) (rate(http_requests_total{code=~"5.."}[1m])) / sum by (service) (rate(http_requests_total[1m]))',
    "sum by (service) (rate(http_requests_total[1m]))",
    "max by (service) (db_connections_in_use / db_connections_max)",
)


def register_watch(app: typer.Typer) -> None:
    """Add ``watch``."""

    @app.command("watch")
    def watch_cmd(
        backend: str = typer.Option(..., "--backend", "-b", help="Prometheus-compatible base URL to follow."),
        query: list[str] = typer.Option(None, "--query", "-q",
                                        help="PromQL to follow (repeatable); default: error ratio, traffic and DB "
                                             "pool use per service."),
        interval: str = typer.Option("1s", "--interval", help="Evaluation step (>= 1s)."),
        history: str = typer.Option("10m", "--history", help="History that primes the detectors and thresholds."),
        warmup: int = typer.Option(120, "--warmup", help="Samples per series before any score (detector warm-up)."),
        floor: float = typer.Option(0.7, "--floor", help="Lowest per-series threshold on the score."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per anomaly per line."),
        webhook: str = typer.Option(None, "--webhook", help="POST anomalies Alertmanager-style to this URL "
                                    "(.../api/v2/alerts for an Alertmanager, else its webhook payload)."),
        max_seconds: float = typer.Option(None, "--max-seconds", help="Stop after this many seconds (default: never)."),
    ) -> None:
        """Follow the backend with the streaming detector (O(1) per sample) and report anomalies as they happen."""
        from ..backends import open_backend
        from ..config import load_settings
        from ..errors import BackendError
        from ..types import parse_duration
        from .watch import Watcher, post_webhook, watch_config

        settings = load_settings(backend_url=backend)
        be = open_backend(settings)
        watcher = Watcher(be, list(query or DEFAULT_QUERIES), interval_s=parse_duration(interval),
                          history_s=0.0 if history.strip() in ("0", "0s") else parse_duration(history),
                          config=watch_config(parse_duration(interval), warmup=warmup), floor=floor)

        def on_event(ev) -> None:
            typer.echo(json.dumps(ev.to_json()) if as_json else ev.describe())
            if webhook:
                try:
                    post_webhook(webhook, [ev])
                except BackendError as exc:
                    typer.echo(f"warning: {exc.message}", err=True)

        def on_error(exc) -> None:
            typer.echo(f"warning: {exc.message} (retrying)", err=True)

        if not as_json:
            typer.echo(f"watching {len(watcher.queries)} queries on {be.name} every {watcher.interval:g}s "
                       f"(Ctrl-C stops)", err=True)
        try:
            watcher.warm_up()
        except BackendError as exc:
            on_error(exc)
        note = watcher.learning_note()
        if note:
            typer.echo(note, err=True)
        try:
            watcher.run(on_event, max_seconds=max_seconds, on_error=on_error)
        finally:
            close = getattr(be, "close", None)
            if close is not None:
                close()
