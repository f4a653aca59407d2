"""Optional recognition with a local Whisper checkpoint through the transformers ASR pipeline.

Only ever a directory on this machine: ``voice_whisper_model`` (``PROMV5_VOICE_WHISPER_MODEL``, or
``--whisper-model``), saved with ``save_pretrained()``. Loading passes ``local_files_only=True``, so a hub
name such as ``openai/whisper-tiny`` is refused with a message instead of being downloaded. The pipeline is
loaded on first use and cached per directory.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

from .._deps import require
from ..errors import ConfigError
from .audio import Pcm

__all__ = ["transcribe_whisper", "whisper_pipeline"]

log = logging.getLogger(__name__)

_SETTING = "voice_whisper_model (PROMV5_VOICE_WHISPER_MODEL, or --whisper-model)"
_HOW = ("Save a checkpoint once on a machine with access, e.g. WhisperForConditionalGeneration.from_pretrained("
        "'openai/whisper-base').save_pretrained(DIR) and the same for WhisperProcessor, copy DIR here and set "
        f"{_SETTING} to it; nothing is ever downloaded. Or set voice_mode=auto for offline pocketsphinx")
_PIPES: dict[str, Any] = {}
_LOCK = threading.Lock()


def _checked_dir(model_path: str | Path | None) -> Path:
    if model_path is None or not str(model_path).strip():
        raise ConfigError(f"voice_mode=whisper needs a local Whisper checkpoint, and {_SETTING} is not set", hint=_HOW)
    path = Path(model_path).expanduser()
    if not path.is_dir():
        raise ConfigError(f"{_SETTING} is {str(model_path)!r}: no such directory on this machine", hint=_HOW)
    cfg = path / "config.json"
    if not cfg.is_file():
        raise ConfigError(f"{_SETTING} points at {path}, which holds no config.json: not a saved model", hint=_HOW)
    try:
        model_type = json.loads(cfg.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{_SETTING}: {cfg} is not readable JSON ({exc})", hint=_HOW) from exc
    if model_type != "whisper":
        raise ConfigError(f"{_SETTING} points at a {model_type or 'unknown'!s} model in {path}, not a Whisper one",
                          hint=_HOW)
    return path


def whisper_pipeline(model_path: str | Path | None) -> Any:
    """The ASR pipeline of the checkpoint at ``model_path`` (cached), loaded with ``local_files_only=True``."""
    path = _checked_dir(model_path)
    key = str(path.resolve())
    with _LOCK:
        pipe = _PIPES.get(key)
    if pipe is not None:
        return pipe
    transformers = require("transformers", "ml")
    errors: tuple[type[BaseException], ...] = (OSError, ValueError, KeyError, RuntimeError, TypeError)
    try:
        import safetensors

        errors = (*errors, safetensors.SafetensorError)  # a truncated or corrupt weights file
    except ImportError:  # pragma: no cover - transformers requires it
        pass
    try:
        model, info = transformers.WhisperForConditionalGeneration.from_pretrained(
            str(path), local_files_only=True, output_loading_info=True)
        missing = list((info or {}).get("missing_keys") or [])
        if missing:  # transformers would fill them with random numbers and transcribe garbage, silently
            raise ValueError(f"{len(missing)} weights missing from the checkpoint (e.g. {missing[0]}): "
                             "truncated or not saved with save_pretrained()")
        processor = transformers.WhisperProcessor.from_pretrained(str(path), local_files_only=True)
        pipe = transformers.pipeline("automatic-speech-recognition", model=model, tokenizer=processor.tokenizer,
                                     feature_extractor=processor.feature_extractor, device=-1)
    except errors as exc:
        raise ConfigError(f"{_SETTING}: the checkpoint in {path} could not be loaded: {str(exc)[:300]}",
                          hint="It needs the model (config.json, weights) and its processor (tokenizer and "
                               "feature extractor files) saved together. " + _HOW) from exc
    with _LOCK:
        return _PIPES.setdefault(key, pipe)


def transcribe_whisper(pcm: Pcm, model_path: str | Path | None) -> str:
    """Lower-case text of ``pcm`` heard by the Whisper checkpoint at ``model_path`` (control characters removed)."""
    np = require("numpy", "voice")
    pipe = whisper_pipeline(model_path)
    audio = np.frombuffer(pcm.data, dtype="<i2").astype(np.float32) / 32768.0
    try:
        out = pipe({"raw": audio, "sampling_rate": pcm.rate})
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ConfigError(f"The Whisper checkpoint failed on this audio: {str(exc)[:300]}",
                          hint="Check the checkpoint with its own example, or set voice_mode=auto") from exc
    text = str(out.get("text", "") if isinstance(out, dict) else out)
    text = re.sub(r"[\x00-\x1f\x7f\ufffd]+", " ", text)
    return re.sub(r"\s+", " ", text).strip().lower()
