"""Recording from a microphone (``record_microphone``, ``%voice --record N``).

There is no sound card on the build machines, so the PyAudio module is replaced by a FAKE with PyAudio's
interface as SpeechRecognition uses it (``PyAudio().open(...).read(n)``, ``paInt16``, ``get_sample_size``):
its "microphone" plays back an espeak-ng recording at 16 kHz. Everything after it is real: SpeechRecognition's
``Microphone`` and ``Recognizer.record``, our checks, and pocketsphinx. Without PyAudio the error says how to
install it.
"""

from __future__ import annotations

import io
import sys
import types
import wave

import numpy as np
import pytest

from promv5_lab.errors import InputError, MissingDependencyError
from promv5_lab.voice import intent, transcribe
from promv5_lab.voice.audio import RATE, record_microphone


def _pcm16k(path) -> bytes:
    with wave.open(str(path)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
        rate = w.getframerate()
    t = np.arange(0, x.size / rate, 1 / RATE)
    return np.interp(t, np.arange(x.size) / rate, x).astype("<i2").tobytes()


def fake_pyaudio(source: bytes, *, devices: int = 1, open_fails: bool = False) -> types.ModuleType:
    """A module with PyAudio's interface whose input stream returns ``source`` (16 kHz int16), then quiet."""
    mod = types.ModuleType("pyaudio")
    mod.paInt16 = 8
    mod.get_sample_size = lambda fmt: 2
    mod.opened = []

    class Stream:
        def __init__(self, rate: int, channels: int) -> None:
            assert rate == RATE and channels == 1
            self.pos, self.stopped, self.closed = 0, False, False

        def read(self, frames: int, exception_on_overflow: bool = True) -> bytes:
            chunk = source[self.pos: self.pos + 2 * frames]
            self.pos += 2 * frames
            return chunk + b"\x00" * (2 * frames - len(chunk))  # a live microphone never runs dry

        def is_stopped(self) -> bool:
            return self.stopped

        def stop_stream(self) -> None:
            self.stopped = True

        def close(self) -> None:
            self.closed = True

    class PyAudio:
        def get_device_count(self) -> int:
            return devices

        def open(self, *, input_device_index=None, channels=1, format=None, rate=RATE, frames_per_buffer=1024,
                 input=False):
            if open_fails:
                raise OSError(-9996, "Invalid input device (no default output device)")
            stream = Stream(rate, channels)
            mod.opened.append(stream)
            return stream

        def terminate(self) -> None:
            pass

    mod.PyAudio = PyAudio
    return mod


def test_recording_flows_through_the_same_decode(say, catalogue, monkeypatch):
    spoken = _pcm16k(say("why is payments slow"))
    fake = fake_pyaudio(spoken)
    monkeypatch.setitem(sys.modules, "pyaudio", fake)
    pcm = record_microphone(4)
    assert fake.opened and fake.opened[0].closed  # the stream was released
    assert 3.9 < pcm.duration_s < 4.2  # four seconds recorded, the quiet tail trimmed before decoding
    heard = transcribe(pcm, catalogue=catalogue, mode="grammar")
    assert heard.text == "why is payments slow"
    assert intent(heard.text, catalogue).kind == "investigate"


def test_without_pyaudio_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyaudio", None)  # import pyaudio -> ImportError
    with pytest.raises(MissingDependencyError) as err:
        record_microphone(2)
    assert err.value.module == "pyaudio" and "pip install pyaudio" in err.value.hint
    assert "portaudio" in err.value.hint.lower()


@pytest.mark.parametrize("kwargs, source, words", [
    ({"open_fails": True}, b"", "Cannot open the microphone"),
    ({"devices": 0}, b"", "Cannot use microphone"),  # asked for device 0 of none
    ({}, b"", "silent"),  # a muted microphone
    ({}, np.random.default_rng(2).normal(0, 2000, RATE * 3).astype("<i2").tobytes(), "No speech"),
], ids=["open-fails", "no-device", "muted", "noise"])
def test_bad_recordings(monkeypatch, kwargs, source, words):
    monkeypatch.setitem(sys.modules, "pyaudio", fake_pyaudio(source, **kwargs))
    with pytest.raises(InputError, match=words) as err:
        record_microphone(2, device_index=0 if kwargs.get("devices") == 0 else None)
    assert err.value.hint


@pytest.mark.parametrize("seconds", [0, -1, 0.1, 61, float("nan")])
def test_bad_durations(seconds):
    with pytest.raises(InputError, match="Cannot record"):
        record_microphone(seconds)


def test_wav_of_the_recording_is_valid(say, monkeypatch):
    """The checked recording is plain 16 kHz PCM: it can be saved as WAV and read back unchanged."""
    monkeypatch.setitem(sys.modules, "pyaudio", fake_pyaudio(_pcm16k(say("restart the frontend"))))
    pcm = record_microphone(3)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(pcm.rate)
        w.writeframes(pcm.data)
    assert buf.getvalue()[:4] == b"RIFF" and len(pcm.data) % 2 == 0
