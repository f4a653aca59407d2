"""Words the recogniser can say: the CMU dictionary that ships in the pocketsphinx wheel, plus spoken forms
for the tokens of metric names and label values it lacks (compounds such as ``frontend``, a few product
names, and letter-by-letter spelling as the last resort). Numbers become words (``node-1`` -> node one).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from .._deps import require

__all__ = ["cmudict", "number_words", "pronounce", "pronunciations", "spoken_tokens", "stem_of",
           "stem_pronunciations", "with_suffix"]

# product names people say as words, not letters (ARPAbet, CMU phone set)
_KNOWN: dict[str, str] = {
    "postgres": "P OW S T G R EH S", "postgresql": "P OW S T G R EH S K Y UW EH L", "redis": "R EH D IH S",
    "kubernetes": "K UW B ER N EH T IY Z", "nginx": "EH N JH IH N EH K S", "grafana": "G R AH F AA N AH",
    "kafka": "K AA F K AH", "mysql": "M AY S IY K W EH L", "etcd": "EH T S IY D IY", "iowait": "AY OW W EY T",
    "coredns": "K AO R D IY EH N EH S", "mongodb": "M AA NG G OW D IY B IY", "fulfilment": "F UH L F IH L M AH N T",
    "summarise": "S AH M ER AY Z", "summarised": "S AH M ER AY Z D", "rollout": "R OW L AW T",
}
_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_WORD = re.compile(r"^[a-z][a-z']*$")


@functools.lru_cache(maxsize=1)
def dictionary_path() -> Path:
    ps = require("pocketsphinx", "voice")
    return Path(ps.get_model_path()) / "en-us" / "cmudict-en-us.dict"


@functools.lru_cache(maxsize=1)
def cmudict() -> dict[str, str]:
    """word -> phones (first pronunciation) of the dictionary the decoder loads."""
    out: dict[str, str] = {}
    with dictionary_path().open(encoding="utf-8") as fh:
        for line in fh:
            word, _, phones = line.strip().partition(" ")
            if word and "(" not in word:
                out[word] = phones
    return out


@functools.lru_cache(maxsize=1)
def _all_prons() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    with dictionary_path().open(encoding="utf-8") as fh:
        for line in fh:
            word, _, phones = line.strip().partition(" ")
            if word:
                out.setdefault(re.sub(r"\(\d+\)$", "", word), []).append(phones.strip())
    return {w: tuple(p) for w, p in out.items()}


def pronunciations(word: str) -> tuple[str, ...]:
    """Every pronunciation the decoder's dictionary holds for ``word``, its first one first (``()`` if none)."""
    return _all_prons().get(word, ())


_SUFFIXES = (("s", None), ("ing", "IH NG"), ("ed", "D"), ("er", "ER"))


def _suffix_phones(stem_phones: str, add: str | None) -> str:
    if add is None:  # plural: S after voiceless consonants, Z otherwise
        add = "S" if stem_phones.split()[-1] in ("P", "T", "K", "F", "TH") else "Z"
    return f"{stem_phones} {add}"


def stem_of(word: str) -> tuple[str, str | None] | None:
    """(stem, phones the suffix adds; None: a plural's S or Z) for a word the dictionary lacks but whose stem it
    holds (``restarts`` -> ("restart", None)); None for other words."""
    if not _WORD.match(word) or word in cmudict() or word in _KNOWN:
        return None
    for suffix, add in _SUFFIXES:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3 and stem in cmudict():
            return stem, add
    return None


def with_suffix(stem_phones: str, add: str | None) -> str:
    """A stem's phones with a suffix's (``add`` None: a plural's S after voiceless consonants, Z otherwise)."""
    return _suffix_phones(stem_phones, add)


def stem_pronunciations(word: str) -> tuple[str, ...] | None:
    """For a word the dictionary lacks but whose stem it holds (``restarts`` = restart + S): the word said after
    each of the stem's pronunciations, in the dictionary's order; None for other words."""
    found = stem_of(word)
    if found is None:
        return None
    stem, add = found
    return tuple(_suffix_phones(p, add) for p in pronunciations(stem))


def number_words(n: int) -> list[str]:
    """0..999999 as words (``105`` -> one hundred five); larger numbers digit by digit."""
    if n < 0:
        return ["minus", *number_words(-n)]
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [_ONES[n // 100], "hundred"] + (number_words(n % 100) if n % 100 else [])
    if n < 1_000_000:
        return number_words(n // 1000) + ["thousand"] + (number_words(n % 1000) if n % 1000 else [])
    return [_ONES[int(d)] for d in str(n)]


def spoken_tokens(text: str) -> list[str]:
    """How a label value or metric name is said: words, numbers as words (``/cart/items`` -> cart items)."""
    from ..nl.catalogue import tokens

    out: list[str] = []
    for tok in tokens(text):
        for part in re.findall(r"[a-z]+|[0-9]+", tok):
            if part.isdigit():
                out.extend(number_words(int(part)) if len(part) <= 6 else [_ONES[int(d)] for d in part])
            else:
                out.append(part)
    return out


def _compound(word: str, d: dict[str, str]) -> str | None:
    """Phones of ``word`` as a concatenation of dictionary words of 3+ letters (frontend = front + end)."""
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(n, i + 2, -1):
            piece = word[i:j]
            if piece in d and (best[j] is None or len(best[j]) > len(best[i]) + 1):  # type: ignore[arg-type]
                best[j] = [*best[i], piece]  # type: ignore[misc]
    parts = best[n]
    if not parts or len(parts) > 3:
        return None
    return " ".join(d[p] for p in parts)


def pronounce(word: str) -> str | None:
    """ARPAbet phones for ``word`` (None when it is in the dictionary already or is not a word)."""
    if not _WORD.match(word):
        return None
    d = cmudict()
    if word in d:
        return None
    if word in _KNOWN:
        return _KNOWN[word]
    derived = stem_pronunciations(word)
    if derived:
        return derived[0]
    comp = _compound(word, d)
    if comp:
        return comp
    letters = [d.get(ch) for ch in word if ch.isalpha()]
    if letters and all(letters):
        return " ".join(letters)  # type: ignore[arg-type]
    return None
