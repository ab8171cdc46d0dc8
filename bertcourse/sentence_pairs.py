"""Sentence-pair classification: a cross-encoder fine-tuned on pairs against a bi-encoder's cosine
threshold, and what the segment ids contribute.

Written for a pair lesson (paraphrase detection on the course's own pairs, `data/paraphrase`, or MRPC
in the gpu profile); until that notebook exists, `benchmarks/sentence_pairs.py` runs the experiment
with it. The pair itself goes through lesson 04's path unchanged: `formats.text_columns`
makes the loader and `classification.tokenize_for_classification` read `sentence1` and `sentence2`,
`classification.head_arguments` sizes the head, and `training.make_trainer` trains it. This module
holds only what is new to the lesson: sorting test pairs into the hard cases the data was written
with, and editing the segment ids of an encoded split to measure what they carry.

    kinds = [hard_case(a, b) for a, b in zip(test["sentence1"], test["sentence2"])]
    zeroed = with_segment_ids(encoded["test"], "zero")     # every token in segment 0

Room: a lesson module. It imports `bertcourse.course` only through `bertcourse.classification`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

SegmentEdit = Literal["zero", "swap"]

_NEGATIONS = {"not", "no", "never", "nobody", "none", "neither", "nor", "nothing", "refused", "without"}
_NUMBER_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                 "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
                 "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred",
                 "thousand", "million", "half", "twice", "once"}


def _words(sentence: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:[.,][0-9]+)*", sentence.lower().replace("n't", " not"))


def hard_case(first: str, second: str) -> str:
    """Which trap a pair sets, by a fixed rule on its words (decided before any model saw the data):

    - "same words, new order": both sentences use exactly the same words, in a different order
      ("Tom beat Maria" / "Maria beat Tom"): identical for a bag of words, and nearly so for a mean of
      token vectors;
    - "negation": a negation word ("not", "never", "n't", ...) is in one sentence and not the other;
    - "number": the two sentences differ in a number, written in digits or in words;
    - "other": none of these (rewordings, and pairs that change a word or a clause).
    The first rule that fires wins."""
    a, b = _words(first), _words(second)
    if sorted(a) == sorted(b) and a != b:
        return "same words, new order"
    if bool(_NEGATIONS & set(a)) != bool(_NEGATIONS & set(b)):
        return "negation"
    numbers_a = {w for w in a if w[0].isdigit() or w in _NUMBER_WORDS}
    numbers_b = {w for w in b if w[0].isdigit() or w in _NUMBER_WORDS}
    if numbers_a != numbers_b and (numbers_a or numbers_b):
        return "number"
    return "other"


def with_segment_ids(split: Any, edit: SegmentEdit) -> Any:
    """`split` (a tokenized pair dataset) with its `token_type_ids` edited, everything else unchanged:
    "zero" puts every token in segment 0, as if the pair were one sentence; "swap" gives the first
    sentence segment 1 and the second segment 0. Padding is added later by the collator, so every
    id here belongs to a real token."""

    def edit_ids(row: dict) -> dict:
        ids = row["token_type_ids"]
        return {"token_type_ids": [0] * len(ids) if edit == "zero" else [1 - t for t in ids]}

    return split.map(edit_ids)
