"""Text -> speech, offline, with Debian's espeak-ng: WAV bytes for notebooks, the app and alerts.

The text never touches a command line: espeak-ng reads it from stdin (no shell, no argv), so a text that
starts with '-' cannot become an option, and SSML/markup is not interpreted (no ``-m``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any

from ..errors import ConfigError, InputError, MissingDependencyError

__all__ = ["ESPEAK", "speak", "tts_options"]

ESPEAK = "espeak-ng"
DEFAULT_VOICE = "en-us"
DEFAULT_WPM = 160
MAX_CHARS = 2000
_VOICE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*(\+[a-z0-9]{1,12})?$")


def _binary() -> str:
    path = shutil.which(ESPEAK) or ("/usr/bin/espeak-ng" if os.path.exists("/usr/bin/espeak-ng") else None)
    if path is None:
        raise MissingDependencyError("espeak-ng (Debian package)", "voice")
    return path


def tts_options(voice: str | None = None, wpm: int | None = None, settings: Any | None = None) -> tuple[str, int]:
    """The voice and rate to speak with: the arguments when given, else ``settings.voice_tts_voice`` /
    ``voice_tts_wpm`` (settings loaded from the environment and config file when not passed)."""
    if voice is None or wpm is None:
        if settings is None:
            from ..config import load_settings

            settings = load_settings()
        voice = voice or settings.voice_tts_voice or DEFAULT_VOICE
        wpm = wpm or settings.voice_tts_wpm or DEFAULT_WPM
    return voice, int(wpm)


def speak(text: str, *, voice: str | None = None, wpm: int | None = None, settings: Any | None = None,
          timeout_s: float = 30.0) -> bytes:
    """WAV bytes (22.05 kHz mono) of ``text`` said by espeak-ng.

    ``voice``/``wpm`` not given: ``voice_tts_voice``/``voice_tts_wpm`` of ``settings`` (or of the environment).
    """
    if not isinstance(text, str):
        raise InputError(f"Can only speak text, not {type(text).__name__}")
    clean = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text).strip()
    if not clean:
        raise InputError("Nothing to say: the text is empty")
    if len(clean) > MAX_CHARS:
        clean = clean[: MAX_CHARS - 3].rsplit(" ", 1)[0] + "..."
    voice, wpm = tts_options(voice, wpm, settings)
    if not isinstance(voice, str) or not _VOICE.match(voice):
        raise ConfigError(f"Not an espeak-ng voice name: {voice!r}",
                          hint="voice_tts_voice / --tts-voice: e.g. en-us, en-gb, en-us+f3 ('espeak-ng --voices=en')")
    if not 80 <= int(wpm) <= 450:
        raise ConfigError(f"Speaking rate {wpm} wpm is out of range",
                          hint="voice_tts_wpm / --tts-wpm: 80 to 400 words per minute")
    argv = [_binary(), "--stdout", "-v", voice, "-s", str(int(wpm))]
    try:
        proc = subprocess.run(argv, input=clean.encode("utf-8"), capture_output=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"espeak-ng failed: {exc}", hint="Check that Debian's espeak-ng is installed") from exc
    if proc.returncode != 0 or proc.stdout[:4] != b"RIFF":
        err = proc.stderr.decode("utf-8", "replace").strip()[:200]
        raise ConfigError(f"espeak-ng failed (exit {proc.returncode}): {err or 'no audio produced'}",
                          hint="Check the voice name with 'espeak-ng --voices=en'")
    return _fix_sizes(proc.stdout)


def _fix_sizes(wav: bytes) -> bytes:
    """espeak-ng writing to a pipe cannot seek back: patch the RIFF and data sizes so every reader accepts it."""
    import struct

    data = bytearray(wav)
    pos = data.find(b"data", 12)
    if pos < 0:
        return bytes(data)
    struct.pack_into("<I", data, 4, len(data) - 8)
    struct.pack_into("<I", data, pos + 4, len(data) - pos - 8)
    return bytes(data)
