"""Lesson 06's exercise: subword fertility (WordPiece tokens per word) from tokenized text.

The notebook measures fragmentation with `da.fragmentation_table`, which asks the tokenizer word
by word. Here the learner gets what a tokenizer returns for whole texts ([CLS], `##`
continuation pieces, [SEP], padding) and must recover the words from the pieces: the
WordPiece convention the lesson's table rests on. The reference solution is sealed.

Room: quiz.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from bertcourse.quiz.exercises.lessons._judging import as_float
from bertcourse.quiz.exercises.spec import Call, Exercise, Test

FERTILITY_INTRO = """### Exercise: subword fertility

**Fertility** is the average number of WordPiece tokens per word: 1.0 when every word is in the
vocabulary, higher the more words are cut into pieces. The table above asked the tokenizer one
word at a time (its "subwords per word" column is the fertility). Compute it instead from
tokenized **texts**, as a tokenizer returns them for a batch: with `[CLS]`, `[SEP]` and `[PAD]`,
and with `##` marking a piece that continues the word before it.
"""

FERTILITY_STUB = '''def subword_fertility(tokenized_texts):
    """Mean WordPiece tokens per word over a corpus, as a float.

    tokenized_texts: a list of texts, each a list of tokens as `tokenizer.convert_ids_to_tokens`
    gives them, e.g. ["[CLS]", "took", "met", "##form", "##in", "[SEP]", "[PAD]"].
    "[CLS]", "[SEP]" and "[PAD]" belong to no word and are not counted. Every other token is a
    piece; a piece that starts with "##" continues the word before it, any other piece starts
    a new word. Fertility = all pieces / all words, pooled over the whole corpus (a long text
    weighs more than a short one). Return 0.0 when there is no word at all.
    """
    raise NotImplementedError("write the body of subword_fertility")
'''

def _fertility_judge(got: Any, call: Call) -> str | None:
    value = as_float(got)
    if isinstance(value, str):
        return value
    expected = call.expected
    if math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-12):
        return None
    message = f"expected {expected:.4f}, got {value:.4f}"
    if value == 1.0:
        message += ": as if every piece were a word, so that no word had more than one piece"
    elif value < 1.0 and expected:
        message += ": fertility is pieces per word, at least 1 (you may have divided words by pieces)"
    return message + "."


def _texts(*texts: list[str]) -> dict[str, Any]:
    return {"tokenized_texts": [list(text) for text in texts]}


def _random_corpus(seed: int) -> dict[str, Any]:
    """Texts of random words, each cut into 1-5 pieces, with specials and padding (fixed seed)."""
    rng = random.Random(seed)
    stems = ["pa", "tient", "glo", "mer", "ulo", "ne", "ph", "ritis", "the", "of", "dia", "betes", "met", "form"]
    texts = []
    for _ in range(rng.randint(3, 7)):
        tokens = ["[CLS]"]
        for _ in range(rng.randint(1, 25)):
            pieces = rng.choice([1, 1, 1, 2, 2, 3, 5])
            tokens += [rng.choice(stems)] + ["##" + rng.choice(stems) for _ in range(pieces - 1)]
        texts.append(tokens + ["[SEP]"])
    longest = max(map(len, texts))
    return {"tokenized_texts": [text + ["[PAD]"] * (longest - len(text)) for text in texts]}


def _show_texts(inputs: Mapping[str, Any]) -> str:
    texts = inputs["tokenized_texts"]
    if sum(map(len, texts)) <= 24:
        return f"tokenized_texts={texts}"
    return (f"{len(texts)} texts padded to {len(texts[0])} tokens, the first "
            f"{' '.join(token for token in texts[0] if token != '[PAD]')}")


FERTILITY = Exercise(
    id="06_subword_fertility",
    anchor="da.plot_fragmentation(tokenizer, word_lists",
    intro=FERTILITY_INTRO,
    stub=FERTILITY_STUB,
    hints=("Two counters over all texts: pieces (every token except the three special ones) and words "
           "(pieces that do not start with '##').",
           "Divide once at the end, pieces / words, rather than averaging each text's own ratio."),
    tests=(
        Test(name="fixed: one text without special tokens", kind="fixed",
             inputs=lambda: _texts(["the", "patient", "took", "met", "##form", "##in"]),
             judge=_fertility_judge, show=_show_texts,
             hint="6 pieces; 4 of them start a word (the ones without ##): 6 / 4 = 1.5."),
        Test(name="fixed: special tokens and padding are not words", kind="fixed",
             inputs=lambda: _texts(["[CLS]", "met", "##form", "##in", "[SEP]", "[PAD]", "[PAD]"]),
             judge=_fertility_judge, show=_show_texts,
             hint="Only met, ##form, ##in count: 3 pieces of 1 word."),
        Test(name="fixed: pooled over texts, not averaged per text", kind="fixed",
             inputs=lambda: _texts(["[CLS]", "a", "b", "c", "d", "e", "f", "[SEP]"],
                                   ["[CLS]", "glo", "##mer", "##ulo", "##ne", "##ph", "##ritis", "[SEP]"]),
             judge=_fertility_judge, show=_show_texts,
             hint="12 pieces, 7 words: 12 / 7. Averaging the two texts' ratios (1 and 6) would give 3.5, "
                  "letting a one-word text weigh as much as a six-word one."),
        Test(name="edge: a text of whole words", kind="edge",
             inputs=lambda: _texts(["[CLS]", "the", "cat", "sat", "[SEP]"]),
             judge=_fertility_judge, show=_show_texts,
             hint="No ## piece: every word is one token, fertility 1.0."),
        Test(name="edge: no texts", kind="edge", inputs=lambda: _texts(), judge=_fertility_judge, show=_show_texts,
             hint="No word at all: return 0.0 instead of dividing by zero."),
        Test(name="edge: only special tokens", kind="edge", inputs=lambda: _texts(["[CLS]", "[SEP]", "[PAD]"]),
             judge=_fertility_judge, show=_show_texts, hint="Special tokens are no words: 0 words, return 0.0."),
        *(Test(name=f"property: a random padded batch (seed {seed})", kind="property",
               inputs=lambda seed=seed: _random_corpus(seed), judge=_fertility_judge, show=_show_texts,
               hint="Count pieces and words over the whole batch, skipping [CLS], [SEP] and [PAD].")
          for seed in (1, 2)),
    ),
)

EXERCISES = [FERTILITY]
