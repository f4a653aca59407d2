"""Speech -> text, offline: pocketsphinx 5 with the catalogue's grammar (a second pass with wide beams when the
first is doubtful), free-form as the fallback, and optionally a local Whisper checkpoint through the transformers ASR pipeline.

``pocketsphinx.Decoder`` is used directly (SpeechRecognition 3.17's ``recognize_sphinx(grammar=...)`` fails
on its second call with pocketsphinx 5). The grammar is decoded as a minimal word automaton
(:mod:`.fsa`), not through pocketsphinx's JSGF compiler: same words, a fifth of the states, half the time.
Grammars are cached per catalogue content and decoders per grammar (a few of each, least recently used
dropped); ``clear_cache()`` or ``refresh=True`` rebuilds them. A decoder is not thread-safe: each has a lock.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .._deps import require
from ..errors import ConfigError, InputError
from .audio import DEFAULT_MAX_BYTES, DEFAULT_MAX_SECONDS, Pcm, load_audio
from .grammar import Grammar, build_grammar

__all__ = ["MIN_GRAMMAR_CONFIDENCE", "Mode", "Transcript", "clear_cache", "decoder_for", "grammar_for",
           "recognition_settings", "transcribe"]

log = logging.getLogger(__name__)

Mode = Literal["auto", "grammar", "free", "whisper"]
MIN_GRAMMAR_CONFIDENCE = 0.25  # below this the grammar's best path is probably forced: try free-form
RETRY_CONFIDENCE = 0.7  # below this the first grammar pass is doubtful: decode again with wide beams
MIN_SPEECH_DB = 6.0  # speech stands this far above the recording's quiet floor (10 dB SNR noise: ~15 dB)
MAX_FRAMES_PER_PHONE = 30  # 10 ms frames a word may spend per phone before the rest counts as unexplained
_FILLERS = ("<s>", "</s>", "<sil>", "[NOISE]", "(NULL)")
# Search settings. bestpath=False: the answer is the Viterbi path through the grammar; the lattice's best path
# (pocketsphinx's default) often stopped inside a command ("show me the error rate over the"): on our
# development sentences 13 of 58 answers were such partial paths, 3 without it, and word accuracy rose 87% -> 90%.
# topn=4 Gaussians per codebook (pocketsphinx's default): topn=3 was ~10% faster but lost commands whose words
# scored better when decoded alone ("restart the checkout" heard as "total queue depth"; no beam width found
# them): on seeds 1-6 of the benchmark, intent 693/720 with 3, 700/720 with 4. The beams stay at pocketsphinx's
# defaults: every tighter beam tried (1e-30..1e-40, maxhmmpf 100-300) or frame skipping (ds=2) lost words for a
# few percent of time, and wider ones (1e-80, 1e-120) cost 5-30x the time without finding the missed commands.
# Round 8, seeds 1-8 (960 commands; intent / service right / word accuracy, CPU median): these settings 942 / 917 /
# 92.5%, 104 ms; ds=2 935 / 898 / 89.9%, 81 ms; wbeam 1e-20 (a 4x smaller lattice for the n-best) 922 / 898 /
# 89.5%, 92 ms. Where the time goes (perf, cProfile): ~70% is the acoustic model's Gaussians (ptm_mgau), ~20 ms
# per second of audio whatever the grammar (a one-word grammar costs 70% of the full one's time), so a recording
# over ~4 s cannot decode in 100 ms at topn 4 without frame skipping; ~20% the FSG search; for long commands the
# n-best's lattice 18-56 ms (fsg_search_lattice matches every history entry against every node: it grows with
# the square of the length). pl_window does nothing here (pocketsphinx runs its phone loop for n-gram search only).
# fsgusealtpron stays on: the dictionary's second pronunciations ("the(2)", "an(2)": 461 extra arcs for the demo
# grammar) cost ~5% of the time, and without them "an incident" (said AH N) was heard as "a incident". Taught
# words' alternatives (redis(2)) are dictionary entries too, so pocketsphinx adds their arcs itself.
DECODER_OPTIONS: dict[str, Any] = {"topn": 4, "bestpath": False}
# A second grammar pass with wide beams, only when the first is doubtful (no path reached the end of a command, or
# confidence < RETRY_CONFIDENCE, see _confidence): most such failures are the right command pruned early ("alert
# me if redis latency..." heard as nothing, or as a shorter command with the rest taken for silence). On
# development seeds 1 and 2 it ran for 8 of 240 commands and recovered 6; 150-300 ms each (CPU), a fraction of
# the free-form pass, which runs only when this one fails too.
WIDE_OPTIONS: dict[str, Any] = {**DECODER_OPTIONS, "beam": 1e-80, "pbeam": 1e-80, "wbeam": 1e-60}
# The grammar's choice probabilities are raised to this power before create_fsg: pocketsphinx applies its language
# weight (lw, 6.5) to the probabilities of a grammar it reads from a file or compiles from JSGF, but not to those
# given to Decoder.create_fsg (the Python binding passes log(p) straight to fsg_model_trans_add), so they weighed
# a 6.5th of what a JSGF grammar's do against the acoustics. Applying it does not help: the automaton's choice
# probabilities are uniform per state, no language model, and weighted they charge every optional word (seed 7:
# weight 6.5 word accuracy 91.3% -> 88.6%, optional "me" and "the" dropped; weight 3: the same words as 1).
GRAMMAR_WEIGHT = 1.0
MAX_CACHED = 4  # grammars kept per process; decoders: twice as many (each grammar's fast and wide one, ~10-20 MB)


@dataclass(frozen=True)
class Transcript:
    """What was heard: the text, how (grammar|free|whisper), a 0..1 confidence, and the timings.

    ``decode_ms`` is the grammar's passes (or the only mode asked for), ``retry_ms`` the part of it spent on the
    wide-beam grammar pass after a doubtful first one (0 when none ran); ``fallback_ms`` the free-form pass
    that ran when the grammar's result stayed doubtful (0 when none ran). ``rtf`` is the real-time factor of
    the whole recognition: (decode + fallback) / the recording's duration.
    """

    text: str
    mode: Literal["grammar", "free", "whisper"]
    confidence: float
    duration_s: float
    decode_ms: float
    fallback_ms: float = 0.0
    grammar_text: str | None = None  # what the grammar heard when the free-form pass replaced it
    retry_ms: float = 0.0
    # the same command heard with other named values, scored nearly as well (see .rivals): ask which one
    rivals: tuple[str, ...] = ()

    @property
    def total_ms(self) -> float:
        return self.decode_ms + self.fallback_ms

    @property
    def rtf(self) -> float:
        return self.total_ms / 1000.0 / max(self.duration_s, 1e-3)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "mode": self.mode, "confidence": round(self.confidence, 3),
                "duration_s": round(self.duration_s, 3), "decode_ms": round(self.decode_ms, 1),
                "retry_ms": round(self.retry_ms, 1), "fallback_ms": round(self.fallback_ms, 1),
                "rtf": round(self.rtf, 4),
                "grammar_text": self.grammar_text, "rivals": list(self.rivals)}


class _Decoder:
    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.lock = threading.Lock()


_DECODERS: OrderedDict[str, _Decoder] = OrderedDict()
_GRAMMARS: OrderedDict[str, Grammar] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every cached grammar and decoder (the next command rebuilds them from the live catalogue)."""
    with _CACHE_LOCK:
        _DECODERS.clear()
        _GRAMMARS.clear()


def _remember(cache: OrderedDict, key: str, value: Any) -> Any:
    with _CACHE_LOCK:
        value = cache.setdefault(key, value)
        cache.move_to_end(key)
        while len(cache) > MAX_CACHED * (2 if cache is _DECODERS else 1):
            cache.popitem(last=False)
        return value


def _new_decoder(**kw: Any) -> Any:
    ps = require("pocketsphinx", "voice")
    try:
        return ps.Decoder(loglevel="FATAL", samprate=16000, **kw)
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(f"pocketsphinx could not start: {exc}",
                          hint='Reinstall it: pip install --force-reinstall "pocketsphinx>=5"') from exc


def _alt_names(word: str, n_alts: int) -> list[str]:
    """The dictionary names of ``n_alts`` added pronunciations of ``word``: numbered after the ones the
    dictionary has (``redis(2)``; ``products`` has two already, so an added one is ``products(3)``)."""
    from .lexicon import pronunciations

    have = max(1, len(pronunciations(word)))
    return [f"{word}({have + i + 1})" for i in range(n_alts)]


def _with_alternatives(graph: Any, alt_prons: dict[str, tuple[str, ...]]) -> list[tuple[Any, ...]]:
    """The graph's transitions plus one per added pronunciation of a word (``redis(2)``), for a decoder with
    ``fsgusealtpron`` off (with it on, pocketsphinx adds every alternative's arcs itself)."""
    out = list(graph.transitions)
    for t in graph.transitions:
        if len(t) == 4 and alt_prons.get(t[3]):
            out.extend((t[0], t[1], t[2], name) for name in _alt_names(t[3], len(alt_prons[t[3]])))
    return out


def decoder_for(grammar: Grammar | None, *, wide: bool = False) -> _Decoder:
    """The cached decoder for ``grammar`` (None: the free-form decoder with the wheel's language model);
    ``wide``: the grammar's decoder with wide beams (the second pass after a doubtful first one)."""
    key = (grammar.key + (":wide" if wide else "")) if grammar is not None else "free"
    with _CACHE_LOCK:
        dec = _DECODERS.get(key)
        if dec is not None:
            _DECODERS.move_to_end(key)
            return dec
    t0 = time.perf_counter()
    if grammar is None:
        raw = _new_decoder()
    else:
        raw = _new_decoder(lm=None, **(WIDE_OPTIONS if wide else DECODER_OPTIONS))
        taught = sorted(grammar.new_words.items())
        taught += [(name, phones) for word, alts in sorted(grammar.alt_prons.items())
                   for name, phones in zip(_alt_names(word, len(alts)), alts)]  # after their base word
        for i, (word, phones) in enumerate(taught):
            raw.add_word(word, phones, i == len(taught) - 1)  # rebuild the search once, after the last word
        try:
            graph = grammar.graph
            options = WIDE_OPTIONS if wide else DECODER_OPTIONS
            arcs = list(graph.transitions) if options.get("fsgusealtpron", True) else \
                _with_alternatives(graph, grammar.alt_prons)
            if GRAMMAR_WEIGHT != 1.0:
                arcs = [(t[0], t[1], t[2] ** GRAMMAR_WEIGHT, *t[3:]) for t in arcs]
            fsg = raw.create_fsg("commands", graph.start, graph.final, arcs)
            raw.add_fsg("commands", fsg)
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(f"The voice grammar did not compile: {exc}",
                              hint="Report this with the catalogue's metric names (--debug shows the grammar)") from exc
        raw.activate_search("commands")
    dec = _Decoder(raw)
    log.info("decoder %s ready in %.2fs", key, time.perf_counter() - t0)
    return _remember(_DECODERS, key, dec)


def _catalogue_key(catalogue: Any | None) -> str:
    """What the grammar depends on: the catalogue's metric names and the values of the labels people say."""
    if catalogue is None:
        return "generic"
    from .grammar import MAX_VALUES, SERVICE_LABELS

    h = hashlib.sha1()
    for name in sorted(catalogue.metrics):
        h.update(name.encode() + b"\n")
    for label in SERVICE_LABELS:
        vals = catalogue.label_values.get(label, ())
        h.update(f"{label}={len(vals)}\n".encode())
        if len(vals) <= MAX_VALUES:
            for v in sorted(vals):
                h.update(v.encode() + b"\x00")
    return h.hexdigest()


def grammar_for(catalogue: Any | None, *, refresh: bool = False) -> Grammar:
    """The grammar of ``catalogue``, built once per catalogue content (``refresh=True`` rebuilds it)."""
    key = _catalogue_key(catalogue)
    if not refresh:
        with _CACHE_LOCK:
            hit = _GRAMMARS.get(key)
            if hit is not None:
                _GRAMMARS.move_to_end(key)
                return hit
    g = build_grammar(catalogue)
    if refresh:
        with _CACHE_LOCK:
            _GRAMMARS.pop(key, None)
            _DECODERS.pop(g.key, None)
            _DECODERS.pop(g.key + ":wide", None)
    return _remember(_GRAMMARS, key, g)


_WARN_LOCK = threading.Lock()


def _reset_noise(d: Any) -> None:
    """Forget the previous recording's noise estimate (see :func:`_decode`). pocketsphinx 5's start_stream()
    does it and warns it is "deprecated and unnecessary" (it is neither here); only that warning is hidden."""
    with _WARN_LOCK, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"start_stream\(\) is deprecated", category=DeprecationWarning)
        d.start_stream()


def _decode(dec: _Decoder, pcm: Pcm, rivals_in: Grammar | None = None,
            rivals_out: list[str] | None = None) -> tuple[str, float]:
    """The best hypothesis and a confidence (see :func:`_confidence`); with ``rivals_in`` (the decoder's
    grammar) and ``rivals_out``, the near-tie readings with other named values are appended to the latter.

    Each recording is heard on its own: pocketsphinx's front end keeps its noise estimate (``remove_noise``)
    from one utterance to the next, so the same recording was heard differently depending on what came before
    ("summarize the last hour" right on a fresh decoder, "why are frontend failures" after one other command).
    ``start_stream()`` resets it; the cepstral mean needs no reset (a whole utterance is normalised by its own).
    """
    d = dec.decoder
    with dec.lock:
        _reset_noise(d)
        d.start_utt()
        d.process_raw(pcm.data, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        segs = list(d.seg() or [])
        if rivals_in is not None and rivals_out is not None and hyp is not None:
            from .rivals import value_rivals

            rivals_out.extend(value_rivals(d, _clean(hyp.hypstr), rivals_in))
    if hyp is None or not hyp.hypstr.strip():
        return "", 0.0
    return hyp.hypstr.strip(), _confidence(segs, pcm, d.lookup_word)


def _loud_frames(pcm: Pcm) -> Any:
    """Which 10 ms frames (pocketsphinx's frames) are loud: above the midpoint, in dB, between the recording's
    quiet floor (10th percentile) and its speech level (95th); noise raises the floor with the speech. None when
    the two are less than MIN_SPEECH_DB apart."""
    import numpy as np

    x = np.frombuffer(pcm.data, dtype="<i2").astype(np.float64)
    n = len(x) // 160
    if n == 0:
        return np.zeros(0, dtype=bool)
    power = np.add.reduceat(x[: n * 160] ** 2, np.arange(0, n * 160, 160)) / 160
    db = 10 * np.log10(power + 1.0)
    lo, hi = np.percentile(db, 10), np.percentile(db, 95)
    if hi - lo < MIN_SPEECH_DB:  # steady sound: nothing stands out as speech
        return np.zeros(n, dtype=bool)
    return db > lo + 0.5 * (hi - lo)


def _confidence(segs: list[Any], pcm: Pcm, lookup: Any) -> float:
    """The share of the recording's loud frames that the heard words explain, 0..1.

    A grammar decode always ends on some command; when the right one was pruned early, the best survivor
    stretches a short word or silence over the speech it cannot explain ("tell me when the error rate of redis
    goes above thirty percent" heard as "fail over the payments release", its "the" lasting 1.5 s; "alert me if
    redis latency goes over three hundred milliseconds" as "the peak latency on node for each pod", the last
    1.5 s of speech taken for silence). So loud frames under silence or noise fillers count as unexplained,
    and so do a word's frames beyond MAX_FRAMES_PER_PHONE (0.3 s per phone: 2-3 times a slow speaker's).
    On the development seeds correct commands scored >= 0.8 and such failures 0.5-0.79.
    """
    import numpy as np

    loud = _loud_frames(pcm)
    if not loud.any():
        return 0.0
    explained = np.zeros(loud.size, dtype=bool)
    for s in segs:
        if s.word in _FILLERS or s.word.startswith("["):
            continue
        phones = lookup(s.word) or ""
        end = min(s.end_frame + 1, s.start_frame + MAX_FRAMES_PER_PHONE * max(1, len(phones.split())))
        explained[max(0, s.start_frame):max(0, end)] = True
    return round(float((loud & explained).sum() / loud.sum()), 4)


def _clean(text: str) -> str:
    import re

    return re.sub(r"\(\d+\)", "", text).strip()


def recognition_settings(mode: str | None, whisper_model: str | Path | None,
                         settings: Any | None) -> tuple[Mode, Path | str | None]:
    """The mode and Whisper directory to use: the arguments when given, else ``settings`` (``voice_mode``,
    ``voice_whisper_model``), loaded from the environment and config file when not passed."""
    if mode is None or (whisper_model is None and mode == "whisper"):
        if settings is None:
            from ..config import load_settings

            settings = load_settings()
        mode = mode or settings.voice_mode
        whisper_model = whisper_model or settings.voice_whisper_model
    if mode not in ("auto", "grammar", "free", "whisper"):
        raise InputError(f"Unknown recognition mode {mode!r}",
                         hint="voice_mode / --mode is one of auto, grammar, free or whisper")
    return mode, whisper_model  # type: ignore[return-value]


def transcribe(audio: bytes | str | Path | Pcm, *, catalogue: Any | None = None, mode: Mode | None = None,
               whisper_model: str | Path | None = None, settings: Any | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, max_seconds: float = DEFAULT_MAX_SECONDS,
               min_confidence: float = MIN_GRAMMAR_CONFIDENCE,
               retry_below: float = RETRY_CONFIDENCE) -> Transcript:
    """Recognise one spoken command.

    ``mode``: ``grammar`` (the catalogue's grammar only), ``free`` (the wheel's language model), ``whisper``
    (a local Whisper checkpoint at ``whisper_model``) or ``auto`` (grammar; free-form when the grammar's
    confidence is under ``min_confidence``). A grammar pass whose confidence is under ``retry_below`` (or
    ``min_confidence``, when higher) is decoded again with wide beams first.
    Not given: ``settings.voice_mode`` / ``voice_whisper_model``.
    Raises :class:`InputError` for bad audio or when no words are heard, :class:`ConfigError` for a missing
    or unusable Whisper checkpoint (never downloaded).
    """
    mode, whisper_model = recognition_settings(mode, whisper_model, settings)
    pcm = load_audio(audio, max_bytes=max_bytes, max_seconds=max_seconds)
    if mode == "whisper":
        from .whisper import transcribe_whisper

        t0 = time.perf_counter()
        text = transcribe_whisper(pcm, whisper_model)
        result = Transcript(text, "whisper", 1.0 if text else 0.0, pcm.duration_s, (time.perf_counter() - t0) * 1000)
    else:
        result = None
        grammar_ms, retry_ms, heard = 0.0, 0.0, None
        if mode in ("auto", "grammar"):
            grammar = grammar_for(catalogue)
            t0 = time.perf_counter()
            rivals: list[str] = []
            text, conf = _decode(decoder_for(grammar), pcm, grammar, rivals)
            grammar_ms = (time.perf_counter() - t0) * 1000
            if not text or conf < max(retry_below, min_confidence):  # doubtful: the right command pruned early?
                t1 = time.perf_counter()
                wide_text, wide_conf = _decode(decoder_for(grammar, wide=True), pcm)
                retry_ms = (time.perf_counter() - t1) * 1000
                grammar_ms += retry_ms
                log.info("grammar: %r (confidence %.2f), wide beams: %r (%.2f, %.0f ms)", text, conf, wide_text,
                         wide_conf, retry_ms)
                if wide_text and (wide_conf >= conf or not text):
                    text, conf, rivals = wide_text, wide_conf, []
            heard = _clean(text) or None
            if mode == "grammar" or (text and conf >= min_confidence):
                result = Transcript(_clean(text), "grammar", conf, pcm.duration_s, grammar_ms, retry_ms=retry_ms,
                                    rivals=tuple(rivals))
            log.info("grammar: %r (confidence %.2f, %.0f ms)", text, conf, grammar_ms)
        if result is None:
            dec = decoder_for(None)
            t0 = time.perf_counter()
            text, conf = _decode(dec, pcm)
            free_ms = (time.perf_counter() - t0) * 1000
            if mode == "free":
                result = Transcript(_clean(text), "free", conf, pcm.duration_s, free_ms)
            else:
                result = Transcript(_clean(text), "free", conf, pcm.duration_s, grammar_ms, free_ms, heard, retry_ms)
    if not result.text:
        raise InputError("No words recognised in the audio",
                         hint="Speak one command clearly, e.g. 'p95 latency of checkout over the last hour'")
    return result
