"""Second pronunciations from espeak-ng's letter-to-sound rules, mapped onto the CMU phone set."""

import pytest

from promv5_lab.voice.g2p import espeak_phones, ipa_to_arpabet
from promv5_lab.voice.grammar import COMMAND_WORDS, build_grammar
from promv5_lab.voice.lexicon import cmudict
from promv5_lab.voice.recognize import _with_alternatives

CMU_PHONES = {"AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY",
              "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y",
              "Z", "ZH"}


@pytest.mark.parametrize("ipa, phones", [
    ("ɹᵻdˈiz", "R IH D IY Z"),  # stress marks dropped, the reduced vowel is IH
    ("pˈoʊstɡɚz", "P OW S T G ER Z"),  # diphthong before its parts; IPA's own g
    ("mˈɛmɚɹi", "M EH M ER IY"),  # r after an r-coloured vowel is that vowel (CMU: M EH M ER IY)
    ("tʃˈɛkaʊt", "CH EH K AW T"),  # affricate as one phone
    ("kˈæɾɐlˌɑːɡ", "K AE T AH L AA G"),  # flap -> T, length mark dropped
    ("ˈɛndʒɪn ˌɛks", "EH N JH IH N EH K S"),  # spaces inside a word's output
    ("ʁ", None),  # a symbol English espeak-ng never writes: no guess rather than a wrong one
])
def test_ipa_to_arpabet(ipa, phones):
    assert ipa_to_arpabet(ipa) == phones


def test_espeak_phones_for_words_the_dictionary_lacks():
    d = cmudict()
    words = ["redis", "postgres", "grafana", "kubernetes", "memory", "checkout"]
    got = espeak_phones(words + ["not a word!", "UPPER"])
    assert set(got) == set(words)  # only lower-case words are spelt out, each exactly once
    for w in words:
        assert set(got[w].split()) <= CMU_PHONES, got[w]
    assert got["redis"].startswith("R ") and got["redis"].endswith(" Z")
    assert got["memory"] == d["memory"] and got["checkout"] == d["checkout"]  # agrees with CMU where it knows


def test_taught_words_get_espeak_alternatives_as_extra_arcs(catalogue):
    g = build_grammar(catalogue)
    assert "postgres" in g.alt_prons and g.alt_prons["postgres"][0] != g.new_words["postgres"]
    # here espeak-ng agrees with the dictionary on every value word (the remediation verbs are another matter)
    assert set(g.alt_prons) - set(COMMAND_WORDS) <= set(g.new_words)
    graph = g.graph
    arcs = _with_alternatives(graph, g.alt_prons)
    base = [t for t in graph.transitions if len(t) == 4 and t[3] == "postgres"]
    alt = [t for t in arcs if len(t) == 4 and t[3] == "postgres(2)"]
    assert base and [t[:3] for t in alt] == [t[:3] for t in base]  # same states and weight as the word itself
    assert len(arcs) == len(graph.transitions) + sum(
        len(g.alt_prons.get(t[3], ())) for t in graph.transitions if len(t) == 4)
    # the alternatives are part of what a decoder is cached under
    assert build_grammar(catalogue).key == g.key
