"""Bad audio is refused with a clear InputError (never a crash); good audio becomes 16 kHz mono 16-bit."""

import io
import wave

import numpy as np
import pytest

from promv5_lab.errors import InputError
from promv5_lab.voice.audio import RATE, load_audio


def wav_bytes(samples: np.ndarray, rate: int = 22050, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return buf.getvalue()


def test_speech_is_resampled_to_16k_mono(say):
    data = say("restart the frontend").read_bytes()
    with wave.open(io.BytesIO(data)) as w:
        assert w.getframerate() == 22050
        seconds = w.getnframes() / w.getframerate()
    pcm = load_audio(data)
    assert pcm.rate == RATE and abs(pcm.duration_s - seconds) < 0.01
    stereo = np.repeat(np.frombuffer(data[44:], dtype="<i2"), 2)
    assert abs(load_audio(wav_bytes(stereo, channels=2)).duration_s - seconds) < 0.01


def test_aiff_and_flac_are_read(say, tmp_path):
    import shutil
    import subprocess

    src = say("why is payments slow")
    sox = shutil.which("sox")
    assert sox, "sox is required for this test"
    for ext in ("aiff", "flac"):
        out = tmp_path / f"c.{ext}"
        subprocess.run([sox, str(src), str(out)], check=True)
        assert 1.0 < load_audio(out).duration_s < 3.0


@pytest.mark.parametrize("make, words", [
    (lambda: wav_bytes(np.zeros(22050 * 2)), "silent"),
    (lambda: wav_bytes(np.random.default_rng(1).normal(0, 3000, 22050 * 2)), "No speech"),
    (lambda: wav_bytes(3000 * np.sin(np.arange(22050 * 2) * 2 * np.pi * 440 / 22050)), "No speech"),
    (lambda: wav_bytes(np.zeros(100) + 500), "too short"),
    (lambda: wav_bytes(np.zeros(22050 * 61) + 500), "over the 60 s limit"),
    (lambda: b"ID3\x03\x00\x00\x00" + b"\x00" * 100, "MP3"),
    (lambda: b"OggS" + b"\x00" * 100, "Ogg"),
    (lambda: b"just some text, not audio at all", "not audio"),
    (lambda: b"", "empty or truncated"),
])
def test_bad_audio(make, words):
    with pytest.raises(InputError) as err:
        load_audio(make())
    assert words in str(err.value) and err.value.hint


def test_truncated_header(say):
    data = say("restart the frontend").read_bytes()
    for cut in (30, 43):
        with pytest.raises(InputError, match="not a readable WAV|too short|no audio"):
            load_audio(data[:cut])


def test_huge_file_refused_before_reading(tmp_path):
    big = tmp_path / "huge.wav"
    with big.open("wb") as fh:  # a sparse 1 GB file: reading it would take seconds and a gigabyte
        fh.write(b"RIFF\xff\xff\xff\x7fWAVEfmt ")
        fh.truncate(1_000_000_000)
    with pytest.raises(InputError, match="1000.0 MB, over the 20.0 MB limit"):
        load_audio(big)
    with pytest.raises(InputError, match="over the 0.0 MB limit"):
        load_audio(b"RIFF" + b"\x00" * 100, max_bytes=50)


def test_missing_file_and_wrong_type(tmp_path):
    with pytest.raises(InputError, match="No audio file"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(InputError, match="Cannot read audio from a int"):
        load_audio(42)  # type: ignore[arg-type]
