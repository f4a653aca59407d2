"""The command grammar as a minimal word automaton, the form pocketsphinx decodes fastest.

pocketsphinx's FSG search does work for every state of the grammar on every 10 ms frame
(``fsg_history_end_frame`` visits each state once per context phone), so decoding time grows with the
number of states, not only with the words that are live. Its own JSGF compiler gives every word of every
copy of a rule its own state (1,036 states for the demo catalogue's grammar: 40% of the decoding time went
to that bookkeeping). The same language as a minimal deterministic automaton over words has about a fifth of
the states (201), decodes the same words, and takes about half the time (``benchmarks/voice_eval.py``).

Built here in pure Python: JSGF rule tree -> Thompson NFA over words -> subset construction -> Brzozowski
minimisation (reverse, determinise, reverse, determinise). Transition probabilities are uniform over the
choices at each state (ending the command is one of the choices of an accepting state).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

__all__ = ["WordGraph", "word_graph"]

_Arc = tuple[int, int, "str | None"]


@dataclass(frozen=True)
class WordGraph:
    """States 0..n_states-1 plus ``final``; ``transitions`` as ``Decoder.create_fsg`` takes them:
    ``(from, to, probability, word)``, or ``(from, to, probability)`` for the step to the final state."""

    start: int
    final: int
    n_states: int
    transitions: tuple[tuple[Any, ...], ...]

    @property
    def words(self) -> frozenset[str]:
        return frozenset(t[3] for t in self.transitions if len(t) == 4)

    def accepts(self, sentence: str) -> bool:
        """Whether ``sentence`` (words separated by spaces) is a command of the grammar."""
        arcs: dict[tuple[int, str], int] = {(t[0], t[3]): t[1] for t in self.transitions if len(t) == 4}
        ends = {t[0] for t in self.transitions if len(t) == 3}
        state = self.start
        for w in sentence.split():
            nxt = arcs.get((state, w))
            if nxt is None:
                return False
            state = nxt
        return state in ends


def _nfa(top: str, rules: dict[str, Any]) -> tuple[int, int, list[_Arc]]:
    """Thompson construction over words: (start, accepting state, arcs), ``None`` words are epsilon moves."""
    arcs: list[_Arc] = []
    count = [0]

    def new() -> int:
        count[0] += 1
        return count[0] - 1

    def build(node: Any, s: int, depth: int) -> int | None:
        if depth > 60:
            raise ValueError("grammar nested too deeply (a recursive rule?)")
        if isinstance(node, str):
            e = new()
            arcs.append((s, e, node))
            return e
        kind, arg = node
        if kind == "ref":
            if arg == "NULL":
                return s
            if arg == "VOID" or arg not in rules:
                return None
            return build(rules[arg], s, depth + 1)
        if kind == "seq":
            cur: int | None = s
            for x in arg:
                cur = build(x, cur, depth + 1)  # type: ignore[arg-type]
                if cur is None:
                    return None
            return cur
        if kind == "alt":
            e = new()
            live = False
            for x in arg:
                b = new()
                arcs.append((s, b, None))
                end = build(x, b, depth + 1)
                if end is not None:
                    arcs.append((end, e, None))
                    live = True
            return e if live else None
        if kind == "opt":
            e = new()
            arcs.append((s, e, None))
            end = build(arg, s, depth + 1)
            if end is not None:
                arcs.append((end, e, None))
            return e
        if kind == "plus":
            end = build(arg, s, depth + 1)
            if end is None:
                return None
            arcs.append((end, s, None))
            return end
        raise ValueError(f"unknown grammar node {kind!r}")

    start = new()
    final = build(rules[top], start, 0)
    if final is None:
        raise ValueError("the grammar accepts no sentence")
    return start, final, arcs


def _determinise(starts: set[int], finals: set[int], arcs: list[_Arc]) -> tuple[set[int], list[_Arc], int]:
    """Subset construction. Returns (accepting states, arcs, number of states); the start state is 0."""
    eps: dict[int, list[int]] = defaultdict(list)
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for a, b, w in arcs:
        if w is None:
            eps[a].append(b)
        else:
            out[a].append((b, w))

    def closure(states: set[int]) -> frozenset[int]:
        stack, seen = list(states), set(states)
        while stack:
            for y in eps[stack.pop()]:
                if y not in seen:
                    seen.add(y)
                    stack.append(y)
        return frozenset(seen)

    first = closure(starts)
    ids = {first: 0}
    queue = [first]
    new_arcs: list[_Arc] = []
    accepting: set[int] = set()
    while queue:
        subset = queue.pop()
        i = ids[subset]
        if subset & finals:
            accepting.add(i)
        by_word: dict[str, set[int]] = defaultdict(set)
        for x in subset:
            for b, w in out[x]:
                by_word[w].add(b)
        for w in sorted(by_word):
            target = closure(by_word[w])
            if target not in ids:
                ids[target] = len(ids)
                queue.append(target)
            new_arcs.append((i, ids[target], w))
    return accepting, new_arcs, len(ids)


def word_graph(jsgf: str) -> WordGraph:
    """The minimal word automaton of a JSGF grammar (our subset: alternatives, sequences, [optional],
    groups, rule references, ``+``/``*``)."""
    from .grammar import _parse_rules

    top, rules = _parse_rules(jsgf)
    if not top:
        raise ValueError("the grammar has no public rule")
    start, final, arcs = _nfa(top, rules)
    # Brzozowski: determinising the reversed automaton twice leaves the minimal one
    acc, darcs, _ = _determinise({start}, {final}, arcs)
    acc, darcs, _ = _determinise(acc, {0}, [(b, a, w) for a, b, w in darcs])
    acc, darcs, n = _determinise(acc, {0}, [(b, a, w) for a, b, w in darcs])
    degree: dict[int, int] = defaultdict(int)
    for a, _, _ in darcs:
        degree[a] += 1
    trans: list[tuple[Any, ...]] = []
    for a, b, w in darcs:
        trans.append((a, b, 1.0 / (degree[a] + (a in acc)), w))
    for a in sorted(acc):
        trans.append((a, n, 1.0 / (degree[a] + 1)))
    return WordGraph(0, n, n, tuple(trans))
