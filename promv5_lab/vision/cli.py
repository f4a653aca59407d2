"""``promv5-lab screenshot FILE.png --out annotated.png [--json] [--dashboard-json F] [--backend URL]``."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``screenshot`` to the ``promv5-lab`` app."""

    @app.command("screenshot")
    def screenshot_cmd(
        image: Path = typer.Argument(..., help="A dashboard screenshot (PNG, JPEG, WebP)."),
        out: Path = typer.Option(None, "--out", "-o", help="Write the screenshot annotated with boxes and labels here."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object: panels with bbox [x, y, width, "
                                     "height], title, anomalous, kind, confidence, where, series."),
        dashboard_json: Path = typer.Option(None, "--dashboard-json", help="The Grafana export of the same dashboard "
                                            "(names each panel's PromQL)."),
        backend: str = typer.Option(None, "--backend", "-b", help="Prometheus-compatible URL: re-run the dashboard's "
                                    "queries for exact numbers (needs --dashboard-json)."),
        model_dir: Path = typer.Option(None, "--model-dir", help="A local Hugging Face image classifier instead of "
                                       "the bundled one (default: setting vision_model_dir)."),
        no_ocr: bool = typer.Option(False, "--no-ocr", help="Do not read titles and axes with Tesseract (faster; "
                                    "also setting vision_ocr = false)."),
        local_model: bool = typer.Option(False, "--local-model", help="Classify with the local model even when a "
                                         "vision endpoint (vision_url) is configured."),
    ) -> None:
        """Find the panels of a dashboard screenshot and say which look anomalous, how and when.

        Settings used: vision_model_dir, vision_ocr, and vision_url/vision_model/vision_api_key/vision_timeout_s
        (an OpenAI-compatible vision endpoint that classifies panels; the local model is its fallback)."""
        from ..config import load_settings
        from .analyze import analyze

        settings = load_settings(backend_url=backend or None, vision_model_dir=model_dir)
        kwargs = {"dashboard_json": dashboard_json, "settings": settings, "ocr": False if no_ocr else None,
                  "endpoint": False if local_model else None}
        if backend:
            from ..backends import telemetry

            with telemetry(settings) as b:
                report = analyze(image, backend=b, **kwargs)
        else:
            report = analyze(image, **kwargs)
        if out is not None:
            out.write_bytes(report.annotated_png())
        if as_json:
            body = report.to_json()
            if out is not None:
                body["annotated"] = str(out)
            typer.echo(json.dumps(body))
        else:
            typer.echo(report.describe())
            if out is not None:
                typer.echo(f"Annotated screenshot: {out}")
