"""Analysis commands of the ``promv5-lab`` CLI (the lead wires ``register`` into the app):
``detect`` (CSV in, scores out), ``forecast`` and ``capacity`` (a PromQL query against --backend/--data/demo)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``detect``, ``forecast``, ``capacity``, ``tune-alerts``, ``recommend``, ``dependencies``, ``scan``, ``watch``."""
    from .forecast_cli import register_forecast
    from .recommend_cli import register_recommend
    from .watch_cli import register_watch

    register_forecast(app)
    register_recommend(app)
    register_watch(app)

    @app.command("detect")
    def detect_cmd(
        src: Path = typer.Argument(..., help="Input CSV with a 'timestamp,value' header (NAB format)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output CSV: timestamp,value,anomaly_score,is_anomaly."),
        threshold: float = typer.Option(None, "--threshold",
                                        help="Flag when anomaly_score >= this (default: the NAB-tuned "
                                             "corpus threshold, promv5_lab.analysis.online.NAB_THRESHOLD)."),
        counter: bool = typer.Option(False, "--counter",
                                     help="The values are a monotone counter: score increments, resets are normal."),
        season: str = typer.Option("1d", "--season", help="Period of the seasonal profile (e.g. 1d, 1h; 0 = none)."),
        weekly: bool = typer.Option(True, "--weekly/--no-weekly",
                                    help="Also compare each stretch with the same hours of the previous weeks."),
        density: bool = typer.Option(True, "--density/--no-density",
                                     help="Also score a rise in how often the series spikes (vs its own past rate)."),
    ) -> None:
        """Score a series online, learning from the series itself: each row's score uses only earlier rows."""
        import dataclasses

        from ..types import parse_duration
        from .csvdetect import detect_csv
        from .online import NAB_THRESHOLD, OnlineConfig

        season_s = 0.0 if season.strip() in ("0", "0s", "none", "") else parse_duration(season)
        config = OnlineConfig().with_season(season_s)
        if not weekly:
            config = dataclasses.replace(config, weekly=None)
        if not density:
            config = dataclasses.replace(config, density=None)
        summary = detect_csv(src, out, threshold=NAB_THRESHOLD if threshold is None else threshold,
                             config=config, counter=counter)
        typer.echo(f"{summary['rows']} rows scored, {summary['flags']} flagged, "
                   f"{summary['us_per_row']:.0f} us per row -> {out}")
