"""``promv5-lab voice FILE.wav [--json]``: transcribe a spoken command, classify it and answer it."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("voice")
    def voice_command(
        audio: str = typer.Argument(..., help="A WAV, AIFF or FLAC recording of one spoken command."),
        backend: str = typer.Option(None, "--backend", "-b", help="Prometheus-compatible base URL."),
        data: str = typer.Option(None, "--data", "-d", help="A 'promv5-lab simulate' output (embedded engine)."),
        at: str = typer.Option(None, "--at", help="Evaluate as if now were this time (ISO 8601 or Unix seconds)."),
        mode: str = typer.Option(None, "--mode", help="auto (grammar, free-form fallback), grammar, free, or "
                                 "whisper (needs --whisper-model). Default: the voice_mode setting (auto)."),
        whisper_model: str = typer.Option(None, "--whisper-model", help="A local Whisper checkpoint directory "
                                          "(default: the voice_whisper_model setting). Never downloaded."),
        tts_voice: str = typer.Option(None, "--tts-voice", help="espeak-ng voice for --say (default: voice_tts_voice)."),
        tts_wpm: int = typer.Option(None, "--tts-wpm", help="Speaking rate for --say (default: voice_tts_wpm)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object (transcript, intent, question, "
                                     "answer as 'ask --json' gives it, proposal)."),
        lexical: bool = typer.Option(False, "--lexical", help="Do not load the embedding model (lexical only)."),
        speak_to: str = typer.Option(None, "--say", help="Also write the spoken answer to this WAV file."),
    ) -> None:
        """Answer a spoken command: what was heard, what it asks for, and the answer.

        With neither --backend nor --data it asks the bundled demo history (generated on first use, ending now).
        Report and remediate commands are proposals only: nothing is approved or executed by voice.
        """
        from ..backends import telemetry
        from ..config import load_settings
        from ..errors import InputError
        from ..investigation import Investigation
        from ..types import as_utc
        from .audio import load_audio
        from .responder import respond

        if backend and data:
            raise InputError("Pass either --backend or --data, not both")
        if mode is not None and mode not in ("auto", "grammar", "free", "whisper"):
            raise InputError(f"Unknown --mode {mode!r}", hint="auto, grammar, free or whisper")
        # flags override the settings (PROMV5_VOICE_* environment, then the config file)
        settings = load_settings(backend_url=backend, data_dir=data, voice_mode=mode, voice_whisper_model=whisper_model,
                                 voice_tts_voice=tts_voice, voice_tts_wpm=tts_wpm)
        load_audio(audio)  # bad audio fails before the backend is opened
        if settings.voice_mode == "whisper":
            from .whisper import whisper_pipeline

            whisper_pipeline(settings.voice_whisper_model)  # a missing checkpoint fails before the backend too
        now = as_utc(at) if at else None
        with telemetry(settings) as b:
            inv = Investigation(b, now=now, use_embeddings=not lexical, cache_dir=settings.cache_dir)
            out = respond(audio, inv, settings=settings)
        if speak_to:
            from pathlib import Path

            from .tts import speak

            Path(speak_to).write_bytes(speak(out["spoken"] or "No answer.", settings=settings))
        if as_json:
            typer.echo(json.dumps(out, default=str))
        else:
            rec = out["recognition"] or {}
            typer.echo(f"Heard: {out['transcript']}  ({rec.get('mode')}, confidence {rec.get('confidence')}, "
                       f"{rec.get('decode_ms')} ms)")
            typer.echo(f"Intent: {out['intent']}  ->  {out['question']}")
            typer.echo(out["answer"]["answer"])
            if out["answer"].get("promql"):
                typer.echo(f"PromQL: {out['answer']['promql']}")
            if out["proposal"]:
                typer.echo(f"Proposed (not approved): {out['proposal']['action']} "
                           f"{out['proposal']['target'] or ''}".rstrip())
        if out["answer"].get("error"):
            raise typer.Exit(1)

