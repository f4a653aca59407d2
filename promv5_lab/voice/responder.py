"""One spoken (or typed) command through the same flow as text: transcript -> intent -> question -> answer.

Report and remediate answers carry a ``proposal`` that is never approved: approval is not given by voice.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..errors import InputError
from .intents import VoiceIntent, intent
from .recognize import Mode, Transcript, transcribe

__all__ = ["catalogue_of", "respond"]

log = logging.getLogger(__name__)

_AUDIO_SUFFIXES = (".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac")


def catalogue_of(investigation: Any) -> Any | None:
    """The catalogue of the investigation's backend (cached per backend), or None without a backend."""
    backend = getattr(investigation, "backend", None)
    if backend is None:
        return None
    from ..nl.catalogue import catalogue_for

    return catalogue_for(backend)


def _is_audio(x: Any) -> bool:
    from .audio import Pcm

    if isinstance(x, (bytes, bytearray, memoryview, Path, Pcm)):
        return True
    return isinstance(x, str) and x.lower().endswith(_AUDIO_SUFFIXES) and "\n" not in x


def proposal(vi: VoiceIntent) -> dict[str, Any] | None:
    """What a report or remediation would do, for a person to approve elsewhere (never by voice)."""
    target = vi.slots.get("target")
    if vi.kind == "remediate":
        return {"action": vi.slots.get("action", "fix"), "target": target, "approved": False, "executed": False,
                "note": "Proposed only: approval is never given by voice. Review the evidence, then approve it "
                        "in the notebook or the app."}
    if vi.kind == "report":
        return {"action": f"{vi.slots.get('report', 'status')} report", "target": target, "approved": False,
                "executed": False, "note": "Proposed only: the report is drafted when you confirm it."}
    return None


def _clarify(text: str, heard: Transcript | None, vi: VoiceIntent) -> dict[str, Any]:
    """The reply to a command whose service was heard two ways: the question back, shaped as ``ask --json``
    shapes a clarification (no PromQL run, nothing proposed)."""
    from ..investigation import Answer
    from ..types import Clarification

    message = vi.slots["clarify"]
    answer = Answer(vi.question, None, Clarification(vi.question, message, tuple(vi.slots["ambiguous"]), "ambiguous"),
                    None, None, message).to_json()
    return {"transcript": text, "recognition": heard.to_json() if heard else None, "intent": vi.kind,
            "slots": vi.slots, "question": vi.question, "answer": answer, "proposal": None, "spoken": message}


def respond(audio_or_text: bytes | str | Path, investigation: Any, *, mode: Mode | None = None,
            whisper_model: str | Path | None = None, settings: Any | None = None) -> dict[str, Any]:
    """Transcribe (when given audio), classify, and answer through ``investigation.ask``.

    ``mode`` / ``whisper_model`` not given: ``settings.voice_mode`` / ``voice_whisper_model`` (settings
    loaded from the environment and config file when not passed).

    Returns ``transcript`` (text), ``recognition`` (mode, confidence, timings; None for typed text),
    ``intent`` (query|alert|investigate|report|remediate), ``slots``, ``question``, ``answer`` (as
    ``promv5-lab ask --json`` gives it), ``proposal`` (report/remediate only, never approved) and ``spoken``
    (one sentence to say back).
    """
    catalogue = catalogue_of(investigation)
    heard: Transcript | None = None
    if _is_audio(audio_or_text):
        heard = transcribe(audio_or_text, catalogue=catalogue, mode=mode, whisper_model=whisper_model,
                           settings=settings)
        text = heard.text
    elif isinstance(audio_or_text, str):
        text = audio_or_text
    else:
        raise InputError(f"Cannot respond to a {type(audio_or_text).__name__}",
                         hint="Pass WAV/AIFF/FLAC bytes, a path to such a file, or the command as text")
    vi = intent(text, catalogue, heard.rivals if heard else ())
    if vi.slots.get("clarify"):  # two services nearly tie: ask back rather than answer about the wrong one
        return _clarify(text, heard, vi)
    answer = investigation.ask(vi.question).to_json()
    prop = proposal(vi)
    spoken = answer.get("answer") or ""
    if vi.kind == "alert":
        th = vi.slots.get("threshold")
        if th:
            spoken = f"Alert proposed: {vi.question} {'above' if th['op'] == '>' else 'below'} " \
                     f"{th['value']:g}{th['unit']}. Now: {spoken}"
    if prop is not None:
        spoken = f"{spoken} Proposed: {prop['action']}{' of ' + prop['target'] if prop['target'] else ''}. " \
                 "Not approved; approve it outside voice."
    return {"transcript": text, "recognition": heard.to_json() if heard else None, "intent": vi.kind,
            "slots": vi.slots, "question": vi.question, "answer": answer, "proposal": prop, "spoken": spoken}
