"""Spelling -> CMU phones through espeak-ng's letter-to-sound rules: a second pronunciation for the words the
CMU dictionary lacks (product and service names: "redis", "postgres", "nginx").

The dictionary-free guesses of :mod:`.lexicon` (a compound of dictionary words, letters spelt out, a short
table of product names) are one way to say a word; espeak-ng's English rules, which know stress and vowel
reduction, are often the way people say it ("redis": R EH D IH S from the table, R IH D IY Z from espeak-ng).
Both are given to the decoder as alternatives. espeak-ng prints IPA (``--ipa``); :func:`ipa_to_arpabet`
maps it onto the 39 phones of the CMU set the acoustic model knows. The words go to espeak-ng on stdin, one per
line (never argv, never a shell). Without espeak-ng the lexicon's own guess is the only pronunciation.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess

__all__ = ["espeak_phones", "ipa_to_arpabet"]

log = logging.getLogger(__name__)

# IPA (as espeak-ng writes it for English) -> CMU phones; longest symbols are matched first
_IPA: dict[str, str] = {
    # diphthongs and r-coloured vowels
    "aɪə": "AY ER", "aɪɚ": "AY ER", "aʊə": "AW ER", "eɪ": "EY", "aɪ": "AY", "aʊ": "AW", "ɔɪ": "OY", "oʊ": "OW",
    "əʊ": "OW", "ɚɹ": "ER", "ɝɹ": "ER", "ɪə": "IY AH", "ɛə": "EH R", "ʊə": "UH R", "ɑːɹ": "AA R", "ɔːɹ": "AO R", "ɜːɹ": "ER", "ɪɹ": "IH R",
    "ɛɹ": "EH R", "ʊɹ": "UH R", "ɚ": "ER", "ɝ": "ER", "ɜː": "ER", "ɜ": "ER",
    # vowels
    "iː": "IY", "i": "IY", "ɪ": "IH", "ᵻ": "IH", "e": "EH", "ɛ": "EH", "æ": "AE", "a": "AE", "ɐ": "AH", "ʌ": "AH",
    "ə": "AH", "ɑː": "AA", "ɑ": "AA", "ɒ": "AA", "ɔː": "AO", "ɔ": "AO", "o": "OW", "ʊ": "UH", "uː": "UW", "u": "UW",
    # syllabic consonants
    "l̩": "AH L", "n̩": "AH N", "m̩": "AH M", "əl": "AH L",
    # consonants
    "tʃ": "CH", "dʒ": "JH", "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "ɡ": "G", "g": "G", "f": "F",
    "v": "V", "θ": "TH", "ð": "DH", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "h": "HH", "m": "M", "n": "N",
    "ŋ": "NG", "l": "L", "ɫ": "L", "ɹ": "R", "r": "R", "w": "W", "j": "Y", "ɾ": "T", "ʔ": "T", "x": "K", "ç": "HH",
}
_IGNORED = "ˈˌ.ːˑ‍͡ ̃-_'"  # stress, length, syllable breaks, joiners: the CMU phone set has no symbols for them
_SYMBOLS = sorted(_IPA, key=len, reverse=True)
_TIMEOUT_S = 10.0


def ipa_to_arpabet(ipa: str) -> str | None:
    """CMU phones (space separated) for an IPA string, None when it holds a symbol we cannot map."""
    out: list[str] = []
    i = 0
    s = ipa.strip()
    while i < len(s):
        ch = s[i]
        if ch in _IGNORED or ch.isspace():
            i += 1
            continue
        for sym in _SYMBOLS:
            if s.startswith(sym, i):
                out.extend(_IPA[sym].split())
                i += len(sym)
                break
        else:
            log.debug("no CMU phone for %r in %r", ch, ipa)
            return None
    return " ".join(out) or None


def _binary() -> str | None:
    return shutil.which("espeak-ng") or ("/usr/bin/espeak-ng" if os.path.exists("/usr/bin/espeak-ng") else None)


@functools.lru_cache(maxsize=64)
def _espeak_batch(words: tuple[str, ...], voice: str) -> tuple[str | None, ...]:
    exe = _binary()
    if exe is None or not words:
        return tuple(None for _ in words)
    text = "".join(f"{w}.\n" for w in words)
    try:
        proc = subprocess.run([exe, "-q", "--ipa", "-v", voice], input=text.encode(), capture_output=True,
                              timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("espeak-ng could not spell out %d words: %s", len(words), exc)
        return tuple(None for _ in words)
    lines = [x for x in proc.stdout.decode("utf-8", "replace").splitlines() if x.strip()]
    if proc.returncode != 0 or len(lines) != len(words):
        if len(words) == 1:
            return (None,)
        return tuple(p for w in words for p in _espeak_batch((w,), voice))  # one at a time: lines lost their pairs
    return tuple(ipa_to_arpabet(x) for x in lines)


def espeak_phones(words: list[str] | tuple[str, ...], voice: str = "en-us") -> dict[str, str]:
    """word -> CMU phones from espeak-ng's rules, for the words it could say (lower-case letters only)."""
    todo = tuple(sorted({w for w in words if re.fullmatch(r"[a-z][a-z']*", w)}))
    return {w: p for w, p in zip(todo, _espeak_batch(todo, voice)) if p}
