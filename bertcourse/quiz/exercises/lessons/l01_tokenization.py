"""Exercises of notebook 01 (tokenization).

01_wordpiece_offsets: greedy longest-match WordPiece that also returns each piece's character
span. The notebook prints `wordpiece` (pieces only) as the lesson's key code, so asking for that
again would be copying; offsets make the learner walk the word with a start and an end index,
which is the algorithm itself, and they are what section 2's `offset_mapping` is.

Room: quiz.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from ..spec import Call, Diagnosis, Exercise, Test, describe, equal

_ALPHABET = "tokenizasbfleu"  # random words use these letters; "q" and "x" are in no piece
TOY_VOCAB = {piece: index for index, piece in enumerate(dict.fromkeys(
    ["[UNK]", "[OOV]", "un", "able", "aff", "the", "token", "##aff", "##ff", "##able", "##ab", "##le", "##iz",
     "##ize", "##ation", "##at", "##ion", "##ken", "##ing", "##s"]
    + list(_ALPHABET) + ["##" + letter for letter in _ALPHABET]))}


def _show(inputs: Mapping[str, Any]) -> str:
    extra = "".join(f", {name}={inputs[name]!r}" for name in ("unk", "max_chars") if name in inputs)
    return f"word={inputs['word']!r}, vocab=the toy vocabulary of {len(inputs['vocab'])} pieces{extra}"


def _spans_tile(got: Any, call: Call) -> str | None:
    """Each (piece, start, end) must cover the word left to right, and the piece must be the
    characters of its span (with ## on every piece after the first)."""
    word = call.inputs["word"]
    if not isinstance(got, list) or not all(isinstance(t, tuple) and len(t) == 3 for t in got):
        return f"expected a list of (piece, start, end) tuples, got {describe(got)}."
    position = 0
    for index, (piece, start, end) in enumerate(got):
        if piece == "[UNK]":
            return None if (start, end) == (0, len(word)) and len(got) == 1 else (
                f"an unknown word is one ('[UNK]', 0, {len(word)}) entry; got {describe(got)}.")
        if start != position:
            return (f"piece {index} ({piece!r}) starts at {start}, but the previous piece ended at {position}: "
                    "spans must tile the word.")
        text = word[start:end]
        wanted = text if index == 0 else "##" + text
        if piece != wanted:
            return (f"piece {index} is {piece!r} with span ({start}, {end}), but word[{start}:{end}] is "
                    f"{text!r}, so the piece should be {wanted!r}.")
        position = end
    if position != len(word):
        return f"the spans end at {position}, but the word has {len(word)} characters: {describe(got)}."
    return None


def _span_counts_prefix(got: Any, call: Call) -> str | None:
    """The mistake of measuring a continuation piece's span with its "##" (a span two characters
    too long), recognised in any output that has such a piece."""
    for item in got if isinstance(got, list) else []:
        if isinstance(item, tuple) and len(item) == 3 and isinstance(item[0], str) and item[0].startswith("##") \
                and item[2] - item[1] == len(item[0]):
            return f"{item[0]!r} spans {item[2] - item[1]} characters."
    return None


def _random_words() -> list[dict[str, Any]]:
    """300 random words over letters the toy vocabulary mostly covers (seeded: reproducible)."""
    rng = random.Random(1)
    return [{"word": "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 9))), "vocab": dict(TOY_VOCAB)}
            for _ in range(300)]


EXERCISES = [Exercise(
    id="01_wordpiece_offsets",
    anchor='for token, span in zip(offsets["token"], offsets["chars"]):',
    intro=(
        "### Exercise: WordPiece with character offsets\n\n"
        "Fast tokenizers know where each piece came from. Write that yourself: split one word by **greedy "
        "longest-match-first** and return each piece with its span of characters `(start, end)` in the word "
        "(`word[start:end]` is the piece without its `##`). Write the loop yourself rather than calling "
        "`wordpiece` above. Run the check cell: hidden tests try fixed words, edge cases (the empty word, "
        "a word no piece fits, an over-long word) and hundreds of random words, and say what went wrong."),
    stub='''def wordpiece_offsets(word: str, vocab: dict[str, int], unk: str = "[UNK]",
                      max_chars: int = 100) -> list[tuple[str, int, int]]:
    """Split `word` into WordPiece pieces by greedy longest-match-first, with character spans.

    Returns [(piece, start, end), ...] left to right: the first piece is spelt as in the word,
    later ones carry the "##" prefix, and word[start:end] is the piece without "##". A word that
    no sequence of pieces spells, or longer than `max_chars`, is [(unk, 0, len(word))].
    The empty word has no pieces: [].
    """
    raise NotImplementedError("write the body of wordpiece_offsets")
''',
    hints=("Keep a `start` index. At each step, try the longest candidate first: end = len(word), then "
           "shorten it one character at a time until the piece (with '##' if start > 0) is in the vocabulary.",
           "If no end works for the current start, the whole word is unknown: return [(unk, 0, len(word))] "
           "at once, not just an [UNK] for that piece."),
    diagnoses=(Diagnosis(_span_counts_prefix, "A span counts characters of the word, never the '##': `word[start:end]` "
                                      "is the piece without its prefix, so '##aff' found at 2 spans (2, 5)."),),
    tests=(
        Test("fixed: 'unaffable' splits into un / ##aff / ##able", "fixed",
             lambda: {"word": "unaffable", "vocab": dict(TOY_VOCAB)}, equal(),
             "Longest match first: at position 2, '##aff' is in the vocabulary and longer than '##a'.", _show),
        Test("fixed: a word in the vocabulary stays whole", "fixed",
             lambda: {"word": "token", "vocab": dict(TOY_VOCAB)}, equal(),
             "Try the whole remaining word first (end = len(word)).", _show),
        Test("fixed: 'tokenization' needs continuation pieces", "fixed",
             lambda: {"word": "tokenization", "vocab": dict(TOY_VOCAB)}, equal(),
             "Pieces after the first are looked up with the '##' prefix; their spans do not count the '##'.",
             _show),
        Test("edge: the empty word has no pieces", "edge",
             lambda: {"word": "", "vocab": dict(TOY_VOCAB)}, equal(),
             "With nothing to split, the loop should not run: return [].", _show),
        Test("edge: a word no piece fits is one [UNK] for the whole word", "edge",
             lambda: {"word": "tokenq", "vocab": dict(TOY_VOCAB)}, equal(),
             "'q' is in no piece. BERT then gives up on the whole word, not just on that character.", _show),
        Test("edge: the unk argument names the unknown token", "edge",
             lambda: {"word": "xyz", "vocab": dict(TOY_VOCAB), "unk": "[OOV]"}, equal(),
             "Return the `unk` you were given, not a hard-coded '[UNK]'.", _show),
        Test("edge: a word longer than max_chars is [UNK]", "edge",
             lambda: {"word": "tokens", "vocab": dict(TOY_VOCAB), "max_chars": 5}, equal(),
             "Check the length against `max_chars` before splitting.", _show),
        Test("property: spans tile each of 300 random words", "property", _random_words, _spans_tile,
             "Each piece starts where the previous one ended, and the last ends at len(word).", _show),
        Test("property: longest match first on 300 random words", "property", _random_words, equal(),
             "At each position take the longest piece in the vocabulary, not the first or shortest that fits.",
             _show),
    ),
)]
