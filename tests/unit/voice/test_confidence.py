"""The grammar pass's confidence (the share of loud frames the heard words explain) and a recording heard the
same whatever the decoder heard before it."""

from __future__ import annotations

import io
import wave
from collections import namedtuple

import numpy as np
import pytest

from promv5_lab.voice import load_audio
from promv5_lab.voice.audio import Pcm
from promv5_lab.voice.recognize import (
    MAX_FRAMES_PER_PHONE,
    RETRY_CONFIDENCE,
    _confidence,
    _decode,
    _loud_frames,
    decoder_for,
    grammar_for,
)

Seg = namedtuple("Seg", "word start_frame end_frame")
PHONES = {"the": "DH AH", "fail": "F EY L", "over": "OW V ER", "payments": "P EY M AH N T S"}


def _pcm(loud_from: int, loud_to: int, frames: int = 400, seed: int = 0) -> Pcm:
    """``frames`` 10 ms frames of faint noise, loud (speech-level noise) from frame loud_from to loud_to."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 30, frames * 160)
    x[loud_from * 160:loud_to * 160] = rng.normal(0, 3000, (loud_to - loud_from) * 160)
    return Pcm(np.clip(x, -32768, 32767).astype("<i2").tobytes())


def test_loud_frames_follow_the_speech_not_the_noise_floor():
    loud = _loud_frames(_pcm(100, 300))
    assert loud.size == 400 and loud[100:300].all() and not loud[:100].any() and not loud[300:].any()
    assert _loud_frames(Pcm(b"")).size == 0


def test_words_that_explain_the_speech_score_high():
    pcm = _pcm(100, 300)
    segs = [Seg("<sil>", 0, 99), Seg("fail", 100, 160), Seg("over", 161, 220), Seg("payments", 221, 300),
            Seg("<sil>", 301, 399)]
    assert _confidence(segs, pcm, PHONES.get) == pytest.approx(1.0)


def test_speech_taken_for_silence_is_unexplained():
    pcm = _pcm(100, 300)
    segs = [Seg("<sil>", 0, 199), Seg("payments", 200, 300), Seg("<sil>", 301, 399)]  # first half: silence
    conf = _confidence(segs, pcm, PHONES.get)
    assert conf == pytest.approx(0.5, abs=0.01) and conf < RETRY_CONFIDENCE


def test_a_word_stretched_over_the_speech_explains_only_a_plausible_length():
    pcm = _pcm(100, 300)
    stretched = [Seg("fail", 100, 130), Seg("the", 131, 300)]  # "the" (2 phones) lasting 1.7 s
    explained = 31 + 2 * MAX_FRAMES_PER_PHONE
    conf = _confidence(stretched, pcm, PHONES.get)
    assert conf == pytest.approx(explained / 200, abs=0.01) and conf < RETRY_CONFIDENCE
    assert _confidence([Seg("fail", 100, 130), Seg("the", 131, 150), Seg("payments", 151, 300)], pcm,
                       PHONES.get) == pytest.approx(1.0)


def test_fillers_and_silence_only_score_zero():
    pcm = _pcm(100, 300)
    assert _confidence([Seg("<sil>", 0, 399), Seg("[NOISE]", 100, 300)], pcm, PHONES.get) == 0.0
    assert _confidence([Seg("the", 0, 10)], _pcm(0, 0), PHONES.get) == 0.0  # steady noise: nothing stands out


def _noisy(path, snr_db: float, seed: int) -> bytes:
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    speech = x[np.abs(x) > 100]
    x = x + np.random.default_rng(seed).normal(0, (np.mean(speech ** 2) / 10 ** (snr_db / 10)) ** 0.5, x.size)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.clip(x, -32768, 32767).astype("<i2").tobytes())
    return buf.getvalue()


def test_a_recording_is_heard_the_same_whatever_came_before(say, catalogue):
    """pocketsphinx keeps its noise estimate between utterances; each decode now starts from none, so the same
    recording gets the same words and the same path score before and after another recording."""
    a = load_audio(_noisy(say("summarize the last hour", "en-us+f3", 130), 10, 1))
    b = load_audio(_noisy(say("restart the frontend", "en-us", 170), 10, 2))
    dec = decoder_for(grammar_for(catalogue), wide=True)  # the wide pass: it always ends on a command

    def heard(pcm):
        text, conf = _decode(dec, pcm)
        return text, conf, dec.decoder.hyp().score  # the path score: any change in the features shows

    first = heard(a)
    heard(b)
    assert first[0] and heard(a) == first
