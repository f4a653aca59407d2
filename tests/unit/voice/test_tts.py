"""espeak-ng synthesis: WAV bytes, the text never reaches argv (no shell, no option injection)."""

import io
import subprocess
import wave

import pytest

from promv5_lab.errors import ConfigError, InputError
from promv5_lab.voice import tts


def test_speak_returns_a_valid_wav():
    data = tts.speak("checkout errors are above five percent")
    with wave.open(io.BytesIO(data)) as w:
        assert w.getnchannels() == 1 and w.getnframes() / w.getframerate() > 1.0


def test_text_never_becomes_an_option(tmp_path, monkeypatch):
    target = tmp_path / "owned.wav"
    evil = f"-w {target} --version; $(touch {tmp_path}/pwned) `id`"
    seen = {}
    real_run = subprocess.run

    def spy(argv, **kw):
        seen["argv"], seen["input"], seen["shell"] = argv, kw.get("input"), kw.get("shell", False)
        return real_run(argv, **kw)

    monkeypatch.setattr(tts.subprocess, "run", spy)
    data = tts.speak(evil)
    assert data[:4] == b"RIFF" and len(data) > 10_000  # it said the text instead of obeying it
    assert isinstance(seen["argv"], list) and seen["shell"] is False
    assert all(evil not in a and not a.startswith("-w ") for a in seen["argv"])
    assert seen["input"] == evil.encode()
    assert not target.exists() and not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("kw, err", [
    ({"voice": "en-us; rm -rf /"}, ConfigError), ({"voice": "--stdout"}, ConfigError), ({"wpm": 5}, ConfigError),
])
def test_bad_options(kw, err):
    with pytest.raises(err):
        tts.speak("hello", **kw)


@pytest.mark.parametrize("bad", ["", "   \x00\x01 ", None])
def test_nothing_to_say(bad):
    with pytest.raises(InputError):
        tts.speak(bad)  # type: ignore[arg-type]
