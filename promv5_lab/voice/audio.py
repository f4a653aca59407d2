"""Audio in: a WAV/AIFF/FLAC file or upload (bytes), or the microphone -> 16 kHz mono 16-bit PCM.

Everything that can be wrong with audio is refused here with an :class:`InputError` that says what was wrong
and how to fix it: a file too large (checked before it is read), a format that is not WAV/AIFF/FLAC, a
truncated header, an empty or too long recording, silence, or sound without speech in it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._deps import require
from ..errors import InputError, MissingDependencyError

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_SECONDS", "RATE", "Pcm", "load_audio", "record_microphone"]

log = logging.getLogger(__name__)

RATE = 16_000  # what the acoustic model wants
DEFAULT_MAX_BYTES = 20_000_000  # ~10 minutes of 16 kHz WAV; a spoken command is a few seconds
DEFAULT_MAX_SECONDS = 60.0
MIN_SECONDS = 0.2
PAD_S = 0.15  # quiet lead-in and tail (s); 0.5 decoded 0.5 s more audio per command for no gain
KEEP_S = 0.2  # quiet kept before the first and after the last loud 20 ms (the rest is trimmed: decoding costs
# time per second of audio, and a 5 s microphone recording of a 2 s command is mostly quiet)
# 0.15/0.2 instead of 0.25/0.25: 0.3 s less audio per command (~10% of the decode CPU), and on seeds 1-6 of the
# benchmark intent 706/720 instead of 700/720 (less quiet for a short word or silence to stretch over)
# 0.1/0.1 (round 8, seeds 1-8): 9% less CPU, but intent 937/960 instead of 942 and 12 more wrong services
SILENT_RMS = 40.0  # int16 units (-58 dBFS): below this there is nothing to hear
DITHER = 2.0  # int16 units: the standard deviation of the noise added to every sample

_FORMATS = "WAV, AIFF or FLAC"
_CONVERT = "convert it with e.g. 'sox in.mp3 -r 16000 -c 1 out.wav'"


@dataclass(frozen=True)
class Pcm:
    """16 kHz, mono, signed 16-bit little-endian samples."""

    data: bytes
    rate: int = RATE
    padding_s: float = 0.0  # quiet lead-in and tail added by check_speech (not part of the recording)
    trimmed_s: float = 0.0  # quiet cut from the recording's ends by check_speech (part of the recording)

    @property
    def duration_s(self) -> float:
        """The recording's length (what was trimmed counts, the padding added does not)."""
        return len(self.data) / 2 / self.rate - 2 * self.padding_s + self.trimmed_s


def _sniff(head: bytes) -> str:
    """The container from its magic bytes: wav, aiff, flac, or raise."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"fLaC":
        return "flac"
    if len(head) < 12:
        raise InputError(f"The audio is empty or truncated ({len(head)} bytes): not a {_FORMATS} file",
                         hint="Record again, or check that the upload completed")
    what = "an MP3" if head[:3] == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3") else \
        "an Ogg/Opus or WebM recording" if head[:4] in (b"OggS", b"\x1aE\xdf\xa3") else "not audio we can read"
    raise InputError(f"The audio is {what}: expected {_FORMATS}", hint=_CONVERT)


def _read_source(audio: bytes | bytearray | str | Path, max_bytes: int) -> tuple[bytes, str]:
    """The raw container bytes and a name for messages; refuses oversize input before reading it."""
    if isinstance(audio, (bytes, bytearray, memoryview)):
        data = bytes(audio)
        if len(data) > max_bytes:
            raise InputError(f"The audio upload is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit",
                             hint="Send a shorter recording (a spoken command is a few seconds), or raise max_bytes")
        return data, "the upload"
    if not isinstance(audio, (str, Path)):
        raise InputError(f"Cannot read audio from a {type(audio).__name__}",
                         hint="Pass WAV/AIFF/FLAC bytes or a path to such a file")
    path = Path(audio).expanduser()
    if not path.is_file():
        raise InputError(f"No audio file at {path}", hint="Check the path")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"{path.name} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit",
                         hint="Send a shorter recording (a spoken command is a few seconds), or raise max_bytes")
    with path.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    return data, path.name


def _decode_container(data: bytes, name: str) -> Pcm:
    kind = _sniff(data[:16])
    sr = require("speech_recognition", "voice")
    try:
        with contextlib.ExitStack() as stack:
            source = stack.enter_context(sr.AudioFile(_seekable_source(data, kind, stack)))
            frames = source.audio_reader.getnframes()
            rate = source.audio_reader.getframerate()
            if rate <= 0 or frames <= 0:
                raise InputError(f"{name} holds no audio ({kind}, {frames} frames at {rate} Hz)",
                                 hint="Record again, or check that the upload completed")
            recording = sr.Recognizer().record(source)
        raw = recording.get_raw_data(convert_rate=RATE, convert_width=2)
    except InputError:
        raise
    except (ValueError, EOFError, OSError, AssertionError, KeyError, IndexError, TypeError) as exc:
        raise InputError(f"{name} is not a readable {kind.upper()} file: {exc or type(exc).__name__}",
                         hint=f"The header may be truncated or the encoding unsupported (compressed WAV); {_CONVERT}"
                         ) from exc
    return Pcm(raw)


def _seekable_source(data: bytes, kind: str, stack: contextlib.ExitStack) -> Any:
    """What SpeechRecognition's AudioFile reads: a file object for WAV, a temporary file for AIFF and FLAC.

    AudioFile tries WAV first; on a file object the failed attempt leaves the position past the header, and the
    AIFF/FLAC attempts then fail. With a path every attempt opens the file afresh.
    """
    if kind == "wav":
        return io.BytesIO(data)
    tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="promv5-voice-"))
    path = Path(tmp) / f"upload.{kind}"
    path.write_bytes(data)
    return str(path)


def load_audio(audio: bytes | bytearray | str | Path | Pcm, *, max_bytes: int = DEFAULT_MAX_BYTES,
               max_seconds: float = DEFAULT_MAX_SECONDS) -> Pcm:
    """Read and check ``audio`` (WAV/AIFF/FLAC bytes or path, or already-converted :class:`Pcm`)."""
    if max_bytes <= 0 or max_seconds <= 0:
        raise InputError("max_bytes and max_seconds must be positive")
    if isinstance(audio, Pcm):
        if audio.padding_s > 0:  # already checked
            return audio
        pcm = audio
        name = "the recording"
    else:
        data, name = _read_source(audio, max_bytes)
        pcm = _decode_container(data, name)
    return check_speech(pcm, name=name, max_seconds=max_seconds)


def check_speech(pcm: Pcm, *, name: str = "the audio", max_seconds: float = DEFAULT_MAX_SECONDS) -> Pcm:
    """Refuse audio that is too short, too long, silent or without speech; add a little dither.

    Dither matters: synthesised or gated audio has runs of exact digital zeros, on which the recogniser's
    log-energy features break down and it hears nothing. So does a quiet lead-in and tail: recordings cut
    tight lose their first and last words (measured: "...error rate of checkout" heard as "...error rate on").
    """
    np = require("numpy", "voice")
    dur = pcm.duration_s
    if dur < MIN_SECONDS:
        raise InputError(f"{name} is {dur * 1000:.0f} ms long: too short to hold a command",
                         hint="Record at least a second of speech")
    if dur > max_seconds:
        raise InputError(f"{name} is {dur:.0f} s long, over the {max_seconds:.0f} s limit for a spoken command",
                         hint="Send one command per recording, or raise max_seconds")
    x = np.frombuffer(pcm.data, dtype="<i2").astype(np.float64)
    rms = math.sqrt(float(np.mean(x * x)))
    if rms < SILENT_RMS:
        raise InputError(f"{name} is silent (level {20 * math.log10(max(rms, 1.0) / 32768):.0f} dBFS)",
                         hint="Check the microphone is on and not muted, then speak closer to it")
    if not _has_speech(pcm.data, np):
        raise InputError(f"No speech found in {name}: it sounds like noise or a steady tone",
                         hint="Speak the command clearly, in a quieter place")
    lo, hi = _loud_span(x, pcm.rate, np)
    trimmed = (x.size - (hi - lo)) / pcm.rate
    x = x[lo:hi]
    rng = np.random.default_rng(len(pcm.data))  # deterministic: same audio, same transcript
    pad = np.zeros(int(PAD_S * pcm.rate))
    y = np.concatenate([pad, x, pad])
    y = np.clip(y + rng.normal(0.0, DITHER, y.size), -32768, 32767).astype("<i2")
    return Pcm(y.tobytes(), pcm.rate, PAD_S, trimmed)


def _loud_span(x, rate: int, np) -> tuple[int, int]:
    """Sample range from KEEP_S before the first to KEEP_S after the last frame well above the quiet floor.

    "Well above": over the floor (10th percentile of 20 ms frame levels) by a third of the way to the loud
    level (95th percentile), so steady background noise counts as quiet but soft consonants, within
    KEEP_S of the loud part, are kept.
    """
    win = rate // 50
    n = x.size // win
    if n < 10:
        return 0, x.size
    db = 20 * np.log10(np.sqrt(np.mean(x[: n * win].reshape(n, win) ** 2, axis=1)) + 1.0)
    floor, loud = float(np.percentile(db, 10)), float(np.percentile(db, 95))
    idx = np.flatnonzero(db > floor + (loud - floor) / 3)
    if idx.size == 0:
        return 0, x.size
    keep = int(KEEP_S * rate)
    return max(0, int(idx[0]) * win - keep), min(x.size, (int(idx[-1]) + 1) * win + keep)


def _has_speech(data: bytes, np) -> bool:
    """Whether some stretch of the audio looks like voiced speech: energy that varies over time.

    Steady noise and tones have a flat energy envelope; speech rises and falls with its syllables (4-8 Hz).
    """
    x = np.frombuffer(data, dtype="<i2").astype(np.float64)
    win = RATE // 50  # 20 ms
    n = x.size // win
    if n < 10:
        return False
    energy = np.sqrt(np.mean(x[: n * win].reshape(n, win) ** 2, axis=1)) + 1.0
    db = 20 * np.log10(energy)
    spread = float(np.percentile(db, 95) - np.percentile(db, 10))
    log.debug("energy spread %.1f dB", spread)
    return spread >= 12.0


PYAUDIO_HINT = ("Install PyAudio: 'pip install pyaudio' (it builds against PortAudio: first "
                "'apt-get install portaudio19-dev' on Debian/Ubuntu, 'brew install portaudio' on macOS), or Debian's "
                "'apt-get install python3-pyaudio'. Or record elsewhere and pass the WAV file")


def record_microphone(seconds: float, *, device_index: int | None = None) -> Pcm:
    """Record ``seconds`` from the default microphone (needs PyAudio and a sound device) -> checked :class:`Pcm`.

    The recording goes through the same checks as a file (:func:`check_speech`): silence and noise are refused.
    """
    if not isinstance(seconds, (int, float)) or not 0.5 <= seconds <= DEFAULT_MAX_SECONDS:
        raise InputError(f"Cannot record {seconds} s",
                         hint=f"Record between 0.5 and {DEFAULT_MAX_SECONDS:.0f} seconds, e.g. %voice --record 5")
    sr = require("speech_recognition", "voice")
    try:
        mic = sr.Microphone(device_index=device_index, sample_rate=RATE)
    except AttributeError as exc:  # SpeechRecognition's way of saying PyAudio is missing
        err = MissingDependencyError("pyaudio", "voice")
        err.hint = PYAUDIO_HINT
        raise err from exc
    except (OSError, AssertionError) as exc:  # no such device index, PortAudio cannot start
        raise InputError(f"Cannot use microphone {device_index if device_index is not None else '(default)'}: {exc}",
                         hint="Check a microphone is connected and this process may use it; or pass a WAV file") from exc
    source = mic.__enter__()  # not 'with': SpeechRecognition hides a failed open and its __exit__ then fails
    if source.stream is None:
        raise InputError("Cannot open the microphone: no input device, or it is busy",
                         hint="Check a microphone is connected and this process may use it; or pass a WAV file")
    try:
        recording = sr.Recognizer().record(source, duration=float(seconds))
    except (OSError, AssertionError, ValueError) as exc:
        raise InputError(f"Recording from the microphone failed: {exc}",
                         hint="Check the microphone, or record elsewhere and pass the WAV file") from exc
    finally:
        mic.__exit__(None, None, None)
    raw = recording.get_raw_data(convert_rate=RATE, convert_width=2)
    log.info("recorded %.1f s from the microphone", len(raw) / 2 / RATE)
    return check_speech(Pcm(raw), name="the microphone recording")
