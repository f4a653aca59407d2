"""One spelling per sound: no grammar state offers two word sequences the decoder cannot tell apart."""

from promv5_lab.voice.grammar import Grammar, build_grammar, sound_alikes


def test_sound_alikes_finds_a_word_said_as_two():
    g = Grammar("#JSGF V1.0;\ngrammar t;\npublic <a> = (roll back | rollback | restart) the cart;\n", {})
    found = sound_alikes(g)
    assert ("R OW L B AE K", ("roll back", "rollback")) in found
    assert all("restart" not in " ".join(words) for _, words in found)


def test_sound_alikes_finds_homophones_at_one_state_only():
    same_state = Grammar("#JSGF V1.0;\ngrammar t;\npublic <a> = show (for | four) cart;\n", {})
    found = [words for _, words in sound_alikes(same_state)]
    assert ("for", "four") in found and ("show for", "show four") in found
    assert all(len(words) == 2 and "for" in words[0].split() and "four" in words[1].split() for words in found)
    apart = Grammar("#JSGF V1.0;\ngrammar t;\npublic <a> = show for cart | four carts;\n", {})
    assert sound_alikes(apart) == []


def test_catalogue_grammar_has_one_spelling_per_sound(catalogue):
    g = build_grammar(catalogue)
    assert g.graph.accepts("roll back the checkout deployment")
    assert not g.graph.accepts("rollback the checkout deployment")
    assert sound_alikes(g) == []
