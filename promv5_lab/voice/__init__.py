"""Voice: spoken investigations and spoken alerts, offline.

``transcribe(audio)`` -> :class:`Transcript` (pocketsphinx with a grammar from the live catalogue, free-form
fallback, optional local Whisper); ``intent(text)`` -> :class:`VoiceIntent`; ``respond(audio_or_text,
investigation)`` -> transcript, intent, question and the answer as ``promv5-lab ask --json`` gives it;
``alerts.VoiceAlert`` speaks answers and threshold crossings (espeak-ng). Heavy imports happen on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "transcribe": "recognize",
    "Transcript": "recognize",
    "intent": "intents",
    "VoiceIntent": "intents",
    "respond": "responder",
    "speak": "tts",
    "VoiceAlert": "alerts",
    "load_audio": "audio",
}

__all__ = ["Transcript", "VoiceAlert", "VoiceIntent", "intent", "load_audio", "respond", "speak", "transcribe"]

if TYPE_CHECKING:  # pragma: no cover
    from .alerts import VoiceAlert
    from .audio import load_audio
    from .intents import VoiceIntent, intent
    from .recognize import Transcript, transcribe
    from .responder import respond
    from .tts import speak

__getattr__ = lazy_exports(__name__, _LAZY, globals())
