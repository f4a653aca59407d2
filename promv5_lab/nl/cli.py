"""``promv5-lab ask "QUESTION"``: plan, run and answer one question (``--json`` for one JSON object)."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask_command(
        question: str = typer.Argument(..., help="The question in plain language, e.g. 'p95 latency of checkout'."),
        backend: str = typer.Option(None, "--backend", "-b", help="Prometheus-compatible base URL."),
        data: str = typer.Option(None, "--data", "-d", help="A 'promv5-lab simulate' output (embedded engine)."),
        at: str = typer.Option(None, "--at", help="Evaluate as if now were this time (ISO 8601 or Unix seconds)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object (promql, kind, start, end, step, "
                                     "answer, confidence, series)."),
        lexical: bool = typer.Option(False, "--lexical", help="Do not load the embedding model (lexical only)."),
        tz: str = typer.Option(None, "--tz", help="Your time zone (IANA name, e.g. Europe/Paris) for 'since 14:00' "
                               "and the times in answers; default: the timezone setting (UTC)."),
        llm: bool = typer.Option(False, "--llm", help="Plan with the LLM at PROMV5_LLM_URL/PROMV5_LLM_MODEL "
                                 "(falls back to the offline planner when its answer is unusable)."),
    ) -> None:
        """Answer a question about your metrics: the PromQL it ran, the result and one sentence.

        With neither --backend nor --data it asks the bundled demo history (generated on first use, ending now).
        """
        from ..backends import telemetry
        from ..config import load_settings
        from ..errors import InputError
        from ..investigation import Investigation
        from ..types import as_utc

        if backend and data:
            raise InputError("Pass either --backend or --data, not both")
        now = as_utc(at) if at else None
        settings = load_settings(backend_url=backend, data_dir=data, timezone=tz)
        if llm:
            from .llm import LLMEndpoint

            LLMEndpoint.from_settings(settings)  # a missing URL/model is a ConfigError before any work
        with telemetry(settings) as b:
            inv = Investigation.from_settings(b, settings, now=now, use_llm=llm, use_embeddings=not lexical)
            ans = inv.ask(question)
        if as_json:
            typer.echo(json.dumps(ans.to_json(), default=str))
        else:
            typer.echo(ans.answer)
            if ans.promql:
                typer.echo(f"PromQL: {ans.promql}")
            if ans.plan and ans.plan.alternatives:
                typer.echo(f"Other candidates: {', '.join(ans.plan.alternatives)}")
        if ans.error:
            raise typer.Exit(1)
