"""The grammar's minimal word automaton accepts exactly the JSGF's sentences, with far fewer states."""

import random
import re

import pytest

from promv5_lab.voice.fsa import word_graph
from promv5_lab.voice.grammar import _parse_rules, build_grammar, sample_sentences


def _regex(jsgf: str) -> re.Pattern[str]:
    """An independent membership test: the rule tree as a regular expression over 'word ' tokens."""
    top, rules = _parse_rules(jsgf)

    def rx(node) -> str | None:
        if isinstance(node, str):
            return re.escape(node + " ")
        kind, arg = node
        if kind == "ref":
            return "" if arg == "NULL" else (rx(rules[arg]) if arg in rules else None)
        if kind == "seq":
            parts = [rx(x) for x in arg]
            return None if any(p is None for p in parts) else "".join(parts)
        if kind == "alt":
            parts = [p for p in (rx(x) for x in arg) if p is not None]
            return f"(?:{'|'.join(parts)})" if parts else None
        if kind == "opt":
            inner = rx(arg)
            return f"(?:{inner})?" if inner is not None else ""
        inner = rx(arg)  # plus
        return f"(?:{inner})+" if inner is not None else None

    return re.compile(rx(rules[top]))


@pytest.mark.parametrize("jsgf", [
    "#JSGF V1.0;\ngrammar t;\npublic <a> = (restart | roll back) [the] <svc> [now];\n<svc> = cart | cart items | checkout;",
    "#JSGF V1.0;\ngrammar t;\npublic <a> = why is <svc> (slow | down) | tell me when <svc> [is] slow;\n<svc> = a | b c;",
    "#JSGF V1.0;\ngrammar t;\npublic <a> = one [two] <x> | <x>;\n<x> = three | <VOID> | four five;",
])
def test_small_grammars_exactly(jsgf):
    g = word_graph(jsgf)
    pattern = _regex(jsgf)
    vocab = sorted(g.words) + ["zzz"]
    rng = random.Random(0)
    for _ in range(3000):
        sent = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 6)))
        assert g.accepts(sent) == bool(pattern.fullmatch(sent + " ")), sent


def test_catalogue_grammar(catalogue):
    g = build_grammar(catalogue)
    graph = g.graph
    pattern = _regex(g.jsgf)
    assert graph.words == g.vocabulary
    sentences = sample_sentences(g, 300, seed=3)
    assert all(graph.accepts(s) for s in sentences)
    rng = random.Random(1)
    vocab = sorted(graph.words)
    for s in sentences[:150]:  # one word replaced, dropped or added: accepted exactly when the JSGF says so
        w = s.split()
        i = rng.randrange(len(w))
        for mutant in (w[:i] + [rng.choice(vocab)] + w[i + 1:], w[:i] + w[i + 1:], w[:i] + [rng.choice(vocab)] + w[i:]):
            text = " ".join(mutant)
            assert graph.accepts(text) == bool(pattern.fullmatch(text + " ")), text
    # probabilities: the choices at each state sum to one
    out: dict[int, float] = {}
    for t in graph.transitions:
        out[t[0]] = out.get(t[0], 0.0) + t[2]
    assert all(abs(p - 1.0) < 1e-9 for p in out.values())
    # pocketsphinx's JSGF compiler makes a state per word of every rule copy; the minimal automaton is smaller
    words_in_jsgf = len(re.findall(r"[a-z][a-z']*", g.jsgf.split("\n", 2)[-1]))
    assert graph.n_states < words_in_jsgf / 3


def test_empty_language_is_refused():
    with pytest.raises(ValueError, match="accepts no sentence"):
        word_graph("#JSGF V1.0;\ngrammar t;\npublic <a> = <VOID>;")
