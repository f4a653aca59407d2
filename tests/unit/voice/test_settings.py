"""The voice_* settings (voice_mode, voice_whisper_model, voice_tts_voice, voice_tts_wpm) drive recognition and
speech wherever no argument or flag says otherwise; arguments and flags win."""

from __future__ import annotations

import io
import wave

import pytest

from promv5_lab.config import load_settings
from promv5_lab.errors import ConfigError, InputError
from promv5_lab.voice import transcribe
from promv5_lab.voice.alerts import VoiceAlert
from promv5_lab.voice.recognize import recognition_settings
from promv5_lab.voice.tts import speak, tts_options


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMV5_CONFIG", str(tmp_path / "none.toml"))
    for var in ("PROMV5_VOICE_MODE", "PROMV5_VOICE_WHISPER_MODEL", "PROMV5_VOICE_TTS_VOICE", "PROMV5_VOICE_TTS_WPM"):
        monkeypatch.delenv(var, raising=False)


def _seconds(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as w:
        return w.getnframes() / w.getframerate()


def test_precedence_of_mode(monkeypatch, tmp_path):
    assert recognition_settings(None, None, None) == ("auto", None)  # the default
    cfg = tmp_path / "c.toml"
    cfg.write_text('voice_mode = "grammar"\n')
    monkeypatch.setenv("PROMV5_CONFIG", str(cfg))
    assert recognition_settings(None, None, None)[0] == "grammar"  # config file
    monkeypatch.setenv("PROMV5_VOICE_MODE", "free")
    assert recognition_settings(None, None, None)[0] == "free"  # environment over the file
    assert recognition_settings("auto", None, None)[0] == "auto"  # argument over both
    given = load_settings(voice_mode="whisper", voice_whisper_model=str(tmp_path))
    assert recognition_settings(None, None, given) == ("whisper", tmp_path)
    with pytest.raises(InputError, match="voice_mode / --mode"):
        recognition_settings("loud", None, None)


def test_mode_from_the_environment_is_used(say, catalogue, monkeypatch):
    wav = say("restart the frontend")
    monkeypatch.setenv("PROMV5_VOICE_MODE", "grammar")
    assert transcribe(wav, catalogue=catalogue).mode == "grammar"
    monkeypatch.setenv("PROMV5_VOICE_MODE", "whisper")  # and no checkpoint configured
    with pytest.raises(ConfigError, match="voice_whisper_model"):
        transcribe(wav, catalogue=catalogue)
    assert transcribe(wav, catalogue=catalogue, mode="grammar").mode == "grammar"  # the argument wins


def test_bad_settings_are_config_errors(monkeypatch):
    monkeypatch.setenv("PROMV5_VOICE_MODE", "shout")
    with pytest.raises(ConfigError, match="voice_mode"):
        load_settings()
    monkeypatch.delenv("PROMV5_VOICE_MODE")
    monkeypatch.setenv("PROMV5_VOICE_TTS_WPM", "20")
    with pytest.raises(ConfigError, match="voice_tts_wpm"):
        load_settings()


def test_speech_rate_and_voice_from_settings(monkeypatch):
    slow = speak("checkout errors are above five percent", settings=load_settings(voice_tts_wpm=100))
    fast = speak("checkout errors are above five percent", settings=load_settings(voice_tts_wpm=300))
    assert _seconds(slow) > 1.8 * _seconds(fast)
    monkeypatch.setenv("PROMV5_VOICE_TTS_WPM", "300")
    assert abs(_seconds(speak("checkout errors are above five percent")) - _seconds(fast)) < 0.05
    assert tts_options(None, 120, None) == ("en-us", 120)  # the argument wins over the environment's 300
    monkeypatch.setenv("PROMV5_VOICE_TTS_VOICE", "en-us; rm -rf /")
    with pytest.raises(ConfigError, match="voice_tts_voice"):
        speak("hello")


def test_voice_alert_speaks_with_the_settings(monkeypatch):
    monkeypatch.setenv("PROMV5_VOICE_TTS_VOICE", "en-gb")
    va = VoiceAlert(settings=load_settings(voice_tts_wpm=220))
    assert (va.voice, va.wpm) == ("en-gb", 220)
    assert (VoiceAlert(voice="en-us+f3", wpm=140).voice, VoiceAlert(wpm=140).wpm) == ("en-us+f3", 140)
