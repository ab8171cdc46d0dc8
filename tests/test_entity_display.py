"""Inline entity highlighting: readable without colour, escaped, faithful to the tags and offsets."""

from __future__ import annotations

import pytest

from bertcourse import entity_display as ents

WORDS = ["Ada", "Lovelace", "met", "Charles", "Babbage", "in", "London", "."]
TAGS = ["B-PER", "I-PER", "O", "B-PER", "I-PER", "O", "B-LOC", "O"]


def test_plain_text_says_what_each_entity_is():
    shown = ents.highlight_words(WORDS, TAGS)
    assert str(shown) == "[Ada Lovelace | PER] met [Charles Babbage | PER] in [London | LOC] ."


def test_html_carries_the_label_as_text_and_a_colour_per_type():
    page = ents.highlight_words(WORDS, TAGS)._repr_html_()
    assert page.count("<mark") == 3
    assert "[Ada Lovelace <b>| PER</b>]" in page and "[London <b>| LOC</b>]" in page
    assert ents.colour_for("PER") in page and ents.colour_for("LOC") in page
    assert ents.colour_for("PER") != ents.colour_for("LOC")


def test_html_escapes_text():
    page = ents.highlight_words(["<b>", "AT&T"], ["O", "B-ORG"])._repr_html_()
    assert "&lt;b&gt;" in page and "AT&amp;T" in page and "<b>AT" not in page


def test_adjacent_entities_of_the_same_type_stay_apart():
    shown = ents.highlight_words(["Paris", "London"], ["B-LOC", "B-LOC"])
    assert str(shown) == "[Paris | LOC] [London | LOC]"


def test_pipeline_offsets_mark_the_original_text():
    text = "Ada Lovelace lived in London."
    found = [{"entity_group": "LOC", "start": 22, "end": 28, "score": 0.91, "word": "london"},
             {"entity_group": "PER", "start": 0, "end": 12, "score": 0.987, "word": "ada lovelace"}]
    shown = ents.highlight_text(text, found)
    assert str(shown) == "[Ada Lovelace | PER] lived in [London | LOC]."
    assert 'title="PER (score 0.99)"' in shown._repr_html_()


def test_overlapping_offsets_are_refused():
    with pytest.raises(ValueError, match="overlapping"):
        ents.text_pieces("abcdef", [{"entity": "B-PER", "start": 0, "end": 4}, {"entity": "B-LOC", "start": 2, "end": 6}])


def test_compare_and_legend():
    shown = ents.compare_tags(["a", "b"], ["B-PER", "I-PER"], ["B-ORG", "O"])
    assert str(shown) == "gold: [a b | PER]\npredicted: [a | ORG] b"
    assert str(ents.legend({"PER": "person", "Disease": "disease"})) == "legend: [person | PER] [disease | Disease]"


def test_words_and_tags_must_match():
    with pytest.raises(ValueError, match="2 words but 1 tags"):
        ents.highlight_words(["a", "b"], ["O"])
