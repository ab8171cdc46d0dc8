"""Extractive question answering: a span head on BERT, the SQuAD recipe, and the tools to judge it.

Born in notebook 08 (questions over the course's own encyclopedia documents);
`benchmarks/qa_finetune.py` runs the same code on 48 articles of the real SQuAD v1.1 dev set.

    settings = default_qa_settings("bert-base-uncased")  # per-profile recipe (printed by the notebook)
    features = train.map(prepare_train_features, batched=True, remove_columns=train.column_names,
                         fn_kwargs={"tokenizer": tokenizer, "max_length": ..., "stride": ...})
    model = load_model("bert-base-uncased", AutoModelForQuestionAnswering)
    trainer = make_qa_trainer(model, tokenizer, training_arguments(settings, out_dir), features)
    trainer.train()
    windows = predict_windows(model, tokenizer, test["question"], test["context"], ...)
    predicted = [best_answer(w, context).text for w, context in zip(windows, test["context"])]
    squad_scores(predicted, [answers["text"] for answers in test["answers"]])

The ideas a learner must see are written out in notebook 08 in `#@save` cells: the character
span -> token label alignment (`answer_token_span`), the post-processing (`best_answer`) and
the SQuAD metrics (`normalize_answer`, `exact_match`, `token_f1`); the copies here are
identical (tests/test_saved_cells.py keeps them so). Loading, batching, baselines and the
error-analysis tables live only here.

Room: a lesson module. It imports `bertcourse.course` and `bertcourse.training`.
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from datasets import Dataset, DatasetDict, Features
from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

from bertcourse.course.formats import read_squad, split_sentences
from bertcourse.course.paths import shipped_data_dir
from bertcourse.course.profiles import recipe_for
from bertcourse.course import smoke
from bertcourse.course.bars import progress_bar
from bertcourse.training import FinetuneSettings

# The functions notebook 08 writes out in `#@save` cells (tests/test_saved_cells.py keeps them identical).
SAVED_IN_NOTEBOOK = dict.fromkeys((
    "answer_token_span",
    "best_answer",
    "normalize_answer",
    "exact_match",
    "token_f1",
    "reply_is_right",
), "08_question_answering")


@dataclass(frozen=True, kw_only=True)
class QASettings(FinetuneSettings):
    """Notebook 04's fine-tuning knobs plus the three that only span extraction has."""

    stride: int = 64  # tokens of context shared by two consecutive windows of a long context
    max_answer_length: int = 30  # tokens; longer (start, end) pairs are never proposed
    n_best: int = 20  # start and end candidates kept per window during post-processing


# MiniLM (22.7M parameters, trained for sentence embeddings, never for spans) on the course's 405 training
# questions: four passes at 3e-4, in small batches over short windows, about three CPU minutes. Measured on 2
# cores (benchmarks/results_payoff.md): one pass at 5e-4 over 232 questions scored test F1 12.0, below the
# word-overlap rule's 31.5; six passes at 3e-4 scored 57.9, four passes over the 405 questions 64.9, three
# passes only 17.0 (the notebook's run). Most of the failure was under-training. Batches are grouped by length
# because the notebook adds the drills (`load_drills`, about 90 tokens against the corpus windows' 150): mixed
# into random batches they are padded to the long windows, and four passes over both cost 268 s against 206 s.
MINILM_QA_RECIPE = QASettings(learning_rate=3e-4, epochs=4, batch_size=8,
                              warmup_ratio=0.1, weight_decay=0.01, max_length=160, group_by_length=True,
                              stride=64)
# BERT-Base on SQuAD v1.1: the paper's recipe (Devlin et al. 2019): 2-3 epochs at 3e-5..5e-5,
# batch 32, windows of 384 tokens with a stride of 128.
BERT_BASE_QA_RECIPE = QASettings(learning_rate=3e-5, epochs=2, batch_size=32,
                                 warmup_ratio=0.1, weight_decay=0.01, max_length=384, group_by_length=False,
                                 stride=128)


def default_qa_settings(checkpoint: str = "bert-base-uncased") -> QASettings:
    """The recipe for whatever actually serves `checkpoint` in the active profile."""
    return recipe_for(checkpoint, MINILM_QA_RECIPE, BERT_BASE_QA_RECIPE)


def load_drills(features: Features) -> Dataset:
    """The course's training-only questions on paragraphs dense with numbers (`data/qa/drills.jsonl`,
    from `data/qa/drills.txt`), with `features`: those of the train split they are added to.

    Every training document of `data/qa` holds at most a few numbers, so fine-tuning on them never
    asks the model to tell apart several quantities in one sentence, which is what a paragraph such
    as `ask_probe.json`'s demands. These short documents were written for that alone; none is held
    out, so the validation and test splits stay the corpus documents they were. A smoke run cuts them
    like every training split, or its few capped questions would drown in 266 drills."""
    drills = Dataset.from_list(read_squad(shipped_data_dir() / "qa" / "drills.jsonl"), features=features)
    return smoke.cap_dataset(DatasetDict(train=drills), corpus=False)["train"]


def encode_windows(tokenizer: Any, questions: Sequence[str], contexts: Sequence[str], max_length: int,
                   stride: int) -> Any:
    """Question + context pairs, long contexts cut into overlapping windows.

    Only the context is ever truncated (`only_second`): cutting the question would change what
    is asked. Each window repeats the question and shares `stride` context tokens with the
    previous one, so an answer cut by one window's edge is whole in the next."""
    return tokenizer([question.strip() for question in questions], list(contexts), truncation="only_second",
                     max_length=max_length, stride=stride, return_overflowing_tokens=True,
                     return_offsets_mapping=True)


def answer_token_span(offsets, sequence_ids, start_char, end_char):
    """Token positions (start, end) of the answer characters [start_char, end_char) in one
    window, or (0, 0) -- the [CLS] token, "no answer here" -- when the window does not hold
    the whole answer (it lies outside, or the window's edge cuts it)."""
    context = [i for i, segment in enumerate(sequence_ids) if segment == 1]
    first, last = context[0], context[-1]
    if offsets[first][0] > start_char or offsets[last][1] < end_char:
        return 0, 0
    start = first
    while offsets[start][1] <= start_char:     # first token that ends after the answer starts
        start += 1
    end = last
    while offsets[end][0] >= end_char:         # last token that starts before the answer ends
        end -= 1
    return start, end


def prepare_train_features(batch: dict[str, list], tokenizer: Any, max_length: int, stride: int) -> Any:
    """Windows with their labels (`start_positions`, `end_positions`) for `Dataset.map(batched=True)`.

    SQuAD train questions have one answer; with several (dev data) the first one is the label."""
    encoded = encode_windows(tokenizer, batch["question"], batch["context"], max_length, stride)
    owners = encoded.pop("overflow_to_sample_mapping")
    offsets = encoded.pop("offset_mapping")
    encoded["start_positions"], encoded["end_positions"] = [], []
    for window, owner in enumerate(owners):
        answers = batch["answers"][owner]
        start_char = answers["answer_start"][0]
        start, end = answer_token_span(offsets[window], encoded.sequence_ids(window), start_char,
                                       start_char + len(answers["text"][0]))
        encoded["start_positions"].append(start)
        encoded["end_positions"].append(end)
    return encoded


def make_qa_trainer(model: Any, tokenizer: Any, arguments: TrainingArguments, train_features: Any,
                    eval_features: Any = None) -> Trainer:
    """A Trainer that pads each batch of windows to its longest one. The model computes its own
    loss from `start_positions` / `end_positions`, so no metric function is needed here: span
    metrics need the post-processing, which runs after training on whole examples."""
    return Trainer(model=model, args=arguments, train_dataset=train_features, eval_dataset=eval_features,
                   data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer)


@dataclass
class Window:
    """The model's view of one window: a start and an end logit per token, and for each token
    its character span in the context (None for the question, [CLS], [SEP] and padding)."""

    start_logits: np.ndarray
    end_logits: np.ndarray
    offsets: list[tuple[int, int] | None]

    def context_chars(self) -> tuple[int, int]:
        """The characters of the context this window covers, [first, last)."""
        spans = [span for span in self.offsets if span is not None]
        return spans[0][0], spans[-1][1]


@torch.no_grad()
def predict_windows(model: Any, tokenizer: Any, questions: Sequence[str], contexts: Sequence[str],
                    max_length: int, stride: int, batch_size: int = 32, progress: bool = True) -> list[list[Window]]:
    """Start/end logits of every window of every (question, context) pair, grouped per pair."""
    model.eval()
    device = next(model.parameters()).device
    windows: list[list[Window]] = [[] for _ in questions]
    steps = range(0, len(questions), batch_size)
    for first in progress_bar(steps, desc="predicting", disable=not progress or len(steps) < 2, leave=False):
        encoded = encode_windows(tokenizer, questions[first:first + batch_size], contexts[first:first + batch_size],
                                 max_length, stride)
        owners = encoded["overflow_to_sample_mapping"]
        inputs = tokenizer.pad({key: encoded[key] for key in ("input_ids", "token_type_ids", "attention_mask")
                                if key in encoded}, return_tensors="pt")
        output = model(**{key: value.to(device) for key, value in inputs.items()})
        starts, ends = output.start_logits.float().cpu().numpy(), output.end_logits.float().cpu().numpy()
        for row, owner in enumerate(owners):
            length = len(encoded["input_ids"][row])
            sequence_ids = encoded.sequence_ids(row)
            offsets = [tuple(span) if sequence_ids[i] == 1 else None for i, span in enumerate(encoded["offset_mapping"][row])]
            windows[first + owner].append(Window(starts[row, :length], ends[row, :length], offsets))
    return windows


@dataclass(frozen=True)
class Answer:
    """A predicted span: its text, where it starts in the context, its score (start logit +
    end logit) and which window it came from; `null_score` is the [CLS] score (start logit +
    end logit at position 0) of the window most sure there is an answer."""

    text: str
    start_char: int
    score: float
    window: int
    null_score: float


def best_answer(windows, context, max_answer_length=30, n_best=20):
    """The highest-scoring span over all windows of one example: score = start logit + end
    logit, only spans inside the context, with end >= start and at most `max_answer_length`
    tokens. The best `n_best` starts and ends of each window are paired (not all n^2 pairs)."""
    best = Answer("", 0, float("-inf"), -1, float("inf"))
    null_score = float("inf")
    for index, window in enumerate(windows):
        null_score = min(null_score, float(window.start_logits[0] + window.end_logits[0]))
        starts = np.argsort(window.start_logits)[::-1][:n_best]
        ends = np.argsort(window.end_logits)[::-1][:n_best]
        for start in starts:
            for end in ends:
                if window.offsets[start] is None or window.offsets[end] is None:
                    continue                           # a question token, [CLS], [SEP] or padding
                if end < start or end - start + 1 > max_answer_length:
                    continue
                score = float(window.start_logits[start] + window.end_logits[end])
                if score > best.score:
                    first_char, last_char = window.offsets[start][0], window.offsets[end][1]
                    best = Answer(context[first_char:last_char], first_char, score, index, null_score)
    return Answer(best.text, best.start_char, best.score, best.window, null_score)


def normalize_answer(text):
    """SQuAD's official normalisation: lower-case, drop punctuation, drop the articles
    a / an / the, and collapse whitespace, so "The Rhine." and "rhine" count as the same."""
    text = text.lower()
    text = "".join(character for character in text if character not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction, gold_answers):
    """1.0 if the normalised prediction equals any normalised gold answer, else 0.0."""
    return float(any(normalize_answer(prediction) == normalize_answer(gold) for gold in gold_answers))


def token_f1(prediction, gold_answers):
    """The best, over the gold answers, of the F1 between the bags of normalised words:
    partial credit for overlapping spans ("in 1990" against "1990" scores 0.67)."""
    best = 0.0
    predicted_words = normalize_answer(prediction).split()
    for gold in gold_answers:
        gold_words = normalize_answer(gold).split()
        if not predicted_words or not gold_words:      # empty answers: 1 only if both empty
            best = max(best, float(predicted_words == gold_words))
            continue
        common = sum((collections.Counter(predicted_words) & collections.Counter(gold_words)).values())
        if common == 0:
            continue
        precision, recall = common / len(predicted_words), common / len(gold_words)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def reply_is_right(reply, answers):
    """The rule `data/qa/ask_probe.json` fixes for `ask`'s new questions: the reply, normalised as
    SQuAD normalises answers, holds one of the answers whole and adds at most three words."""
    words = normalize_answer(reply).split()
    for answer in answers:
        gold = normalize_answer(answer).split()
        if len(words) <= len(gold) + 3 and any(words[i:i + len(gold)] == gold for i in range(len(words) - len(gold) + 1)):
            return True
    return False


def per_question_scores(predictions: Sequence[str], gold_answers: Sequence[Sequence[str]]) -> pd.DataFrame:
    """One row per question: its exact match and F1 (0..1)."""
    return pd.DataFrame({"em": [exact_match(p, g) for p, g in zip(predictions, gold_answers, strict=True)],
                         "f1": [token_f1(p, g) for p, g in zip(predictions, gold_answers, strict=True)]})


def squad_scores(predictions: Sequence[str], gold_answers: Sequence[Sequence[str]]) -> dict[str, float]:
    """Exact match and F1 averaged over the questions, in percent (as SQuAD reports them)."""
    scores = per_question_scores(predictions, gold_answers)
    return {"exact_match": 100 * float(scores["em"].mean()), "f1": 100 * float(scores["f1"].mean())}


_WORD = re.compile(r"\w+(?:[-'.,]\w+)*")
_STOP_WORDS = frozenset("""a an the of in on at to for from by with and or but is are was were be been being do does
did has have had what which who whom whose when where why how many much long did does that this these those it its
their his her they he she as into than then there about after before during""".split())


def _content_words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _STOP_WORDS}


def lexical_answer(question: str, context: str) -> str:
    """The word-overlap baseline, no learning: pick the context sentence sharing most content
    words with the question; in it, the answer is the run of words the question does *not*
    mention (a question restates its sentence minus the answer), trimmed of stop words at its
    edges, that sits closest to the words it does mention (the shorter run on a tie)."""
    asked = _content_words(question)
    sentence = max(split_sentences(context), key=lambda s: len(_content_words(s) & asked))
    words = [(match.start(), match.end(), match.group().lower()) for match in _WORD.finditer(sentence)]
    hits = [index for index, (_, _, word) in enumerate(words) if word in asked]
    runs: list[list[int]] = [[]]
    for index, (_, _, word) in enumerate(words):
        if word in asked:
            runs.append([])
        elif runs[-1] or word not in _STOP_WORDS:      # a run never starts with a stop word
            runs[-1].append(index)
    runs = [run[:max(i for i in range(len(run)) if words[run[i]][2] not in _STOP_WORDS) + 1]
            for run in runs if run]                    # nor ends with one
    if not runs:
        return ""

    def distance(run: list[int]) -> tuple[int, int]:
        nearest = min((min(abs(hit - run[0]), abs(hit - run[-1])) for hit in hits), default=0)
        return nearest, len(run)

    chosen = min(runs, key=distance)
    return sentence[words[chosen[0]][0]:words[chosen[-1]][1]]


_QUESTION_TYPES = [("how many / much", r"\bhow (many|much)\b"), ("when", r"\bwhen\b|\bwhat (year|century|decade|day|month)\b"),
                   ("who", r"\bwho(m|se)?\b"), ("where", r"\bwhere\b"), ("why", r"\bwhy\b"),
                   ("how", r"\bhow\b"), ("which", r"\bwhich\b"), ("what", r"\bwhat\b")]


def question_type(question: str) -> str:
    """The question's wh-word class (first matching rule wins: "how many" before "how",
    "what year" counts as "when"); "other" for questions with none."""
    lowered = question.lower()
    for name, pattern in _QUESTION_TYPES:
        if re.search(pattern, lowered):
            return name
    return "other"


def scores_by_type(questions: Sequence[str], scores: pd.DataFrame) -> pd.DataFrame:
    """Number of questions, EM and F1 (percent) per question type, most frequent type first."""
    table = scores.assign(type=[question_type(q) for q in questions]).groupby("type").agg(
        questions=("em", "size"), exact_match=("em", "mean"), f1=("f1", "mean"))
    table[["exact_match", "f1"]] = (100 * table[["exact_match", "f1"]]).round(1)
    return table.sort_values("questions", ascending=False)


def window_situation(windows: Sequence[Window], start_char: int, end_char: int) -> str:
    """Where the gold answer [start_char, end_char) stands against the windows of its example:
    "one window" (the context fitted), "whole in every window", or "cut by an edge in some
    window" (the case the stride exists for)."""
    if len(windows) == 1:
        return "one window"
    cut = False
    for window in windows:
        first, last = window.context_chars()
        inside = first <= start_char and end_char <= last
        outside = end_char <= first or last <= start_char
        cut = cut or not (inside or outside)
    return "cut by an edge in some window" if cut else "several windows, never cut"


def near_misses(questions: Sequence[str], predictions: Sequence[str], gold_answers: Sequence[Sequence[str]],
                scores: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """Answers with partial credit (F1 > 0 but no exact match), highest F1 first: usually the
    right place with the wrong boundaries."""
    rows = scores[(scores["f1"] > 0) & (scores["em"] == 0)].sort_values("f1", ascending=False, kind="stable")
    rows = rows.head(count)
    return pd.DataFrame({"question": [questions[i] for i in rows.index],
                         "gold": [" | ".join(dict.fromkeys(gold_answers[i])) for i in rows.index],
                         "predicted": [predictions[i] for i in rows.index],
                         "f1": rows["f1"].round(2).to_numpy()})
