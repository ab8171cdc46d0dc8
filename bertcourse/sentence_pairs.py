"""Sentence-pair classification: a cross-encoder fine-tuned on pairs against a bi-encoder's cosine
threshold, and what the segment ids contribute.

Born in notebook 09 (section 6, paraphrase detection on the course's own pairs, `data/paraphrase`;
MRPC in the gpu profile); `benchmarks/sentence_pairs.py` runs the same functions with more
measurements (a second cross-encoder trained without segment ids, other recipes, a folder of yours).
The pair itself goes through lesson 04's path unchanged: `formats.text_columns` makes the loader and
`classification.tokenize_for_classification` read `sentence1` and `sentence2`,
`classification.head_arguments` sizes the head, and `training.make_trainer` trains it. This module
holds only what is new to the lesson: the two systems compared (the cosine threshold, the fine-tuned
pair classifier), sorting test pairs into the hard cases the data was written with, and editing the
segment ids of an encoded split to measure what they carry.

    bi_encoder, threshold = threshold_answers(minilm, tokenizer, pairs["validation"], pairs["test"])
    trainer = fine_tune_pair_classifier(pairs["train"], encoded["train"], tokenizer, settings)
    cross = predicted_labels(trainer, encoded["test"])
    kinds = [hard_case(a, b) for a, b in zip(test["sentence1"], test["sentence2"])]
    zeroed = with_segment_ids(encoded["test"], "zero")     # every token in segment 0

Room: a lesson module. It imports `bertcourse.course`, `bertcourse.classification`,
`bertcourse.embeddings` and `bertcourse.training`.
"""

from __future__ import annotations

import re
import tempfile
from typing import Any, Literal

import numpy as np
from transformers import AutoModelForSequenceClassification, Trainer

from bertcourse import embeddings
from bertcourse.classification import head_arguments
from bertcourse.course.resources import load_model
from bertcourse.course.startup import set_seed
from bertcourse.training import (
    FinetuneSettings,
    make_trainer,
    predictions_in_order,
    training_arguments,
)

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


def threshold_answers(encoder: Any, tokenizer: Any, validation: Any, test: Any) -> tuple[np.ndarray, float]:
    """The bi-encoder's answers on `test` (1 = paraphrase) and its threshold: each pair's cosine of
    mean-pooled vectors, with "paraphrase" at or above the threshold that is most accurate on
    `validation`. The threshold is a model choice, so it never sees the test pairs."""
    cosines = {name: embeddings.pair_cosines(encoder, tokenizer, split["sentence1"], split["sentence2"], "mean")
               for name, split in (("validation", validation), ("test", test))}
    threshold, _ = embeddings.best_threshold(cosines["validation"], validation["label"])
    return (np.asarray(cosines["test"]) >= threshold).astype(int), threshold


def fine_tune_pair_classifier(labelled: Any, encoded: Any, tokenizer: Any, settings: FinetuneSettings,
                              checkpoint: str = "bert-base-uncased", seed: int = 0) -> Trainer:
    """A cross-encoder trained on `encoded` (pairs tokenized by `tokenize_for_classification`) through
    lesson 04's path: the profile's encoder with a new head sized from `labelled`'s labels, and the
    `Trainer` with its padding collator. No evaluation during training: the lesson scores it after,
    on the test pairs, next to the bi-encoder."""
    set_seed(seed)
    model = load_model(checkpoint, AutoModelForSequenceClassification, **head_arguments(labelled))
    arguments = training_arguments(settings, tempfile.mkdtemp(), seed=seed, disable_tqdm=True,
                                   eval_strategy="no", logging_strategy="epoch")
    trainer = make_trainer(model, tokenizer, arguments, encoded)
    trainer.train()
    return trainer


def predicted_labels(trainer: Trainer, encoded: Any) -> np.ndarray:
    """The trained classifier's class for each pair of `encoded`, in the split's own order
    (`training.predictions_in_order`), so it can be compared row by row with the labels and with
    another system's answers."""
    return predictions_in_order(trainer, encoded).argmax(axis=-1)
