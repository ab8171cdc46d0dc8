"""No leakage: held-out text, demo sentences and quiz examples are not (near) copies of a lesson's training text.

A score on a test sentence the model trained on, or a "new" demo sentence it has seen, measures memory,
not generalisation. Three checks, each naming every offender with the training sentence it matches:

1. every sentence of a held-out split (validation and test; the corpora's validation split, on which the
   MLM loss is measured) against the training text of the model scored on it;
2. every demo or probe sentence in a lesson notebook against the training text of that lesson;
3. every example in the lesson's quiz bank against the same training text.

**Lesson → training text** (what the lesson's models are trained, adapted or fitted on in the laptop
profile, from `bertcourse/course/registry.py`'s laptop folders and each notebook's `load_dataset` calls):
03 `corpus` train (MLM + NSP); 04 and 07 `emotion` train; 05 `ner` train; 06 `bio_ner` train and the
`bio_corpus` train split it adapts on; 08 `qa` train and the training-only `qa` drills (questions and context
sentences); 09 `sts` validation
(where the cosine threshold is chosen) and `intents` train (the few-shot examples). The `paraphrase` pairs
(09's section 6 and `benchmarks/sentence_pairs.py`) train a pair classifier on train and choose a bi-encoder's
cosine threshold on validation, so their test split is checked against both. 09's contrastive fine-tune of
notebook 03's BERT trains on `embeddings.course_pairs` (paraphrase train, qa train, the FAQ, intents train) and on
`corpus` train's sentences with words deleted, and is scored on the `sts` test pairs and, as a second check, the
validation pairs, so both are checked against that text too. (The lesson's demo sentences are not: the FAQ is also
the collection section 5 searches, and quotes it on purpose.) Notebooks 00-02 train
nothing, so they are not checked.

**Demo sentences** are the string literals of a notebook's code cells with at least 4 words: plain strings,
f-strings (each `{...}` read as a placeholder that matches any one word, so a fill-mask prompt that is a
training sentence with one word masked is caught) and lists of one-word
strings (a pre-split sentence such as `["The", "patient", ...]`, joined with spaces). Shorter literals are
labels, keys and single words. Printed format strings and docstrings are caught too; they never resemble
training sentences, so they cost nothing. **Quiz examples** are every question text, hint and choice text of
the bank, and every double-quoted span inside them.

**Near duplicate.** Both texts are normalised (lower case, every run of non-alphanumeric characters becomes one
space, so "early-onset" = "early - onset" and tokenised CoNLL-style text compares equal to running text). Two
texts are near duplicates when
- they are equal after normalisation, or
- the Jaccard similarity of their word 3-gram sets is >= 0.8 (a copy with a word or two changed), or
- at least 80% of the shorter text's 3-grams (when it has 5 or more) occur in the other: one text is,
  nearly, a piece of the other ("i'm dying of laughter at this video" inside "i'm dying of laughter at this
  cat video, i can't breathe": Jaccard 0.42, contained 83%), or
- they share a run of >= 8 consecutive words (a copied clause: "Mutations in the CFTR gene cause cystic
  fibrosis" followed by a new ending has a 3-gram Jaccard of only 0.3 with its source, yet the model has seen
  the informative part). Eight identical consecutive words almost never occur between sentences written
  independently: over all the course's held-out splits this rule fired only on sentences built from another
  one, and on one shared list of disease names, which was reworded.
Jaccard alone (the issue's suggestion) misses the last two kinds, which are how the known leaks looked.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bertcourse.course import formats

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
NOTEBOOKS = ROOT / "notebooks"
BANKS = ROOT / "bertcourse" / "quiz" / "banks"

JACCARD_LIMIT = 0.8
SHARED_RUN = 8
CONTAINED_LIMIT = 0.8
MIN_CONTAINED = 5
HOLE = "hole0"    # what an f-string's {...} becomes (normalised)
MIN_DEMO_WORDS = 4

def normalise(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _sentences(path: Path) -> list[str]:
    return [sentence for document in formats.read_documents(path) for sentence in document]


def _tokens(path: Path) -> list[str]:
    return [" ".join(row["tokens"]) for row in _jsonl(path)]


def _context_sentences(path: Path) -> list[str]:
    return sorted({sentence for row in _jsonl(path) for sentence in re.split(r"(?<=[.!?])\s+", row["context"])})


def _probe_sentences(path: Path) -> list[str]:
    """The questions and the paragraph's sentences of notebook 08's `ask` probe."""
    probe = json.loads(path.read_text(encoding="utf-8"))
    return [item["question"] for item in probe["questions"]] + re.split(r"(?<=[.!?])\s+", probe["context"])


def _fields(path: Path, *keys: str) -> list[str]:
    return [row[key] for row in _jsonl(path) for key in keys]


class TrainingText:
    """Training sentences indexed by word 3-gram, so each query compares only with sentences it shares one with."""

    def __init__(self, name: str, sentences: list[str]) -> None:
        self.name = name
        self.sentences = sentences
        self.words = [normalise(sentence) for sentence in sentences]
        self.exact = {" ".join(words): i for i, words in enumerate(self.words)}
        self.index: defaultdict[tuple[str, ...], set[int]] = defaultdict(set)
        for i, words in enumerate(self.words):
            for gram in _ngrams(words, 3):
                self.index[gram].add(i)

    def match(self, text: str) -> tuple[str, str] | None:
        """(why, training sentence) for the first near duplicate of `text`, or None."""
        words = normalise(text)
        if " ".join(words) in self.exact:
            return "exact", self.sentences[self.exact[" ".join(words)]]
        if HOLE in words:      # a fill-mask probe: is it a training sentence with one word hidden?
            pattern = re.compile(" ".join(r"[a-z0-9]+" if word == HOLE else re.escape(word) for word in words))
            for i, other in enumerate(self.words):
                if pattern.fullmatch(" ".join(other)):
                    return "exact but for the masked word", self.sentences[i]
        grams = _ngrams(words, 3)
        runs = _ngrams(words, SHARED_RUN)
        for i in sorted(set().union(*(self.index.get(gram, set()) for gram in grams))):
            other = _ngrams(self.words[i], 3)
            jaccard = len(grams & other) / len(grams | other)
            if jaccard >= JACCARD_LIMIT:
                return f"3-gram Jaccard {jaccard:.2f}", self.sentences[i]
            shorter = min(len(grams), len(other))
            contained = len(grams & other) / shorter
            if shorter >= MIN_CONTAINED and contained >= CONTAINED_LIMIT:
                return f"{contained:.0%} of the shorter one's 3-grams in the other", self.sentences[i]
            if runs & _ngrams(self.words[i], SHARED_RUN):
                return f"shares {SHARED_RUN}+ consecutive words", self.sentences[i]
        return None


def _contrastive_pairs() -> list[str]:
    """What notebook 09's contrastive fine-tune trains on: `embeddings.course_pairs`' sources and the corpus
    sentences that `embeddings.word_deletion_pairs` pairs with their shortened copies."""
    return (_fields(DATA / "paraphrase" / "train.jsonl", "sentence1", "sentence2")
            + _fields(DATA / "intents" / "train.jsonl", "text")
            + _fields(DATA / "qa" / "train.jsonl", "question") + _context_sentences(DATA / "qa" / "train.jsonl")
            + _fields(DATA / "faq" / "faq.jsonl", "question", "answer")
            + _sentences(DATA / "corpus" / "train.txt"))


TRAINING_SOURCES = {
    "corpus train": lambda: _sentences(DATA / "corpus" / "train.txt"),
    "emotion train": lambda: _fields(DATA / "emotion" / "train.jsonl", "text"),
    "ner train": lambda: _tokens(DATA / "ner" / "train.jsonl"),
    "bio_corpus train": lambda: _sentences(DATA / "bio_corpus" / "train.txt"),
    "bio_ner train + bio_corpus train": lambda: (_tokens(DATA / "bio_ner" / "train.jsonl")
                                                 + _sentences(DATA / "bio_corpus" / "train.txt")),
    "qa train": lambda: (_fields(DATA / "qa" / "train.jsonl", "question")
                         + _context_sentences(DATA / "qa" / "train.jsonl")
                         + _fields(DATA / "qa" / "drills.jsonl", "question")
                         + _context_sentences(DATA / "qa" / "drills.jsonl")),
    "sts validation + intents train": lambda: (_fields(DATA / "sts" / "validation.jsonl", "sentence1", "sentence2")
                                               + _fields(DATA / "intents" / "train.jsonl", "text")),
    "paraphrase train": lambda: _fields(DATA / "paraphrase" / "train.jsonl", "sentence1", "sentence2"),
    "09's contrastive pairs": _contrastive_pairs,
    "sts validation + intents train + 09's contrastive pairs": lambda: (
        _fields(DATA / "sts" / "validation.jsonl", "sentence1", "sentence2")
        + _fields(DATA / "intents" / "train.jsonl", "text") + _contrastive_pairs()),
    "paraphrase train + validation": lambda: _fields(DATA / "paraphrase" / "train.jsonl", "sentence1", "sentence2")
                                             + _fields(DATA / "paraphrase" / "validation.jsonl", "sentence1", "sentence2"),
}
LESSON_TRAINING = {
    "03_pretraining": "corpus train",
    "04_finetuning": "emotion train",
    "05_ner": "ner train",
    "06_biobert": "bio_ner train + bio_corpus train",
    "07_distillation": "emotion train",
    "08_question_answering": "qa train",
    "09_embeddings_search": "sts validation + intents train",
}
LESSONS = list(LESSON_TRAINING)


@cache
def training_text(name: str) -> TrainingText:
    return TrainingText(name, TRAINING_SOURCES[name]())


# held-out split -> (its sentences, the training text of the model scored on it)
HELD_OUT = {
    "emotion/validation": (lambda: _fields(DATA / "emotion" / "validation.jsonl", "text"), "emotion train"),
    "emotion/test": (lambda: _fields(DATA / "emotion" / "test.jsonl", "text"), "emotion train"),
    "ner/validation": (lambda: _tokens(DATA / "ner" / "validation.jsonl"), "ner train"),
    "ner/test": (lambda: _tokens(DATA / "ner" / "test.jsonl"), "ner train"),
    "bio_ner/validation": (lambda: _tokens(DATA / "bio_ner" / "validation.jsonl"), "bio_ner train + bio_corpus train"),
    "bio_ner/test": (lambda: _tokens(DATA / "bio_ner" / "test.jsonl"), "bio_ner train + bio_corpus train"),
    "bio_corpus/validation": (lambda: _sentences(DATA / "bio_corpus" / "validation.txt"), "bio_corpus train"),
    "corpus/validation": (lambda: _sentences(DATA / "corpus" / "validation.txt"), "corpus train"),
    "qa/test questions": (lambda: _fields(DATA / "qa" / "test.jsonl", "question"), "qa train"),
    "qa/test contexts": (lambda: _context_sentences(DATA / "qa" / "test.jsonl"), "qa train"),
    # notebook 08's `ask` demo: ten questions on a paragraph that must be new to the fine-tuned model
    "qa/ask probe": (lambda: _probe_sentences(DATA / "qa" / "ask_probe.json"), "qa train"),
    "sts/test": (lambda: _fields(DATA / "sts" / "test.jsonl", "sentence1", "sentence2"),
                 "sts validation + intents train + 09's contrastive pairs"),
    "intents/test": (lambda: _fields(DATA / "intents" / "test.jsonl", "text"), "sts validation + intents train"),
    # notebook 09's second check of the contrastive fine-tune
    "sts/validation": (lambda: _fields(DATA / "sts" / "validation.jsonl", "sentence1", "sentence2"), "09's contrastive pairs"),
    # split by topic, so a test pair's sentences are new to the classifier and to the threshold chosen on validation
    "paraphrase/validation": (lambda: _fields(DATA / "paraphrase" / "validation.jsonl", "sentence1", "sentence2"),
                              "paraphrase train"),
    "paraphrase/test": (lambda: _fields(DATA / "paraphrase" / "test.jsonl", "sentence1", "sentence2"),
                        "paraphrase train + validation"),
}


def _literal(node: ast.AST) -> str | None:
    """The text of a string-like literal: a string, an f-string (holes read as HOLE) or a list of words."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else f" {HOLE} " for part in node.values)
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) and len(e.value.split()) == 1 for e in node.elts):
        return " ".join(e.value for e in node.elts)
    return None


def notebook_demo_sentences(path: Path) -> list[str]:
    """String literals of >= MIN_DEMO_WORDS words in the notebook's code cells (see the module docstring)."""
    found: list[str] = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        for node in ast.walk(ast.parse(source)):
            text = _literal(node)
            if text is not None and len(set(normalise(text)) - {HOLE}) >= MIN_DEMO_WORDS and text not in found:
                found.append(text)
    return found


def quiz_examples(lesson: str) -> list[str]:
    bank = yaml.safe_load((BANKS / f"{lesson}.yaml").read_text(encoding="utf-8"))
    texts = []
    for question in bank["questions"]:
        texts += [question.get("text", ""), question.get("hint", "")]
        texts += [choice.get("text", "") for choice in question.get("choices", [])]
    quoted = [span for text in texts for span in re.findall(r"[\"“]([^\"”]+)[\"”]", text)]
    return [text for text in dict.fromkeys(texts + quoted) if len(normalise(text)) >= MIN_DEMO_WORDS]


@dataclass(frozen=True)
class Offender:
    where: str
    text: str
    why: str
    training: str
    training_set: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text!r}\n    {self.why} with {self.training_set}: {self.training!r}"


def _offenders(where: str, texts: list[str], training_set: str) -> list[Offender]:
    training = training_text(training_set)
    return [Offender(where, text, *match, training_set) for text in texts if (match := training.match(text))]


def _check(offenders: list[Offender]) -> None:
    """Fail naming every offender, with the training sentence it matches."""
    assert not offenders, "\n".join([f"{len(offenders)} near duplicate(s) of training text:", *map(str, offenders)])


def test_near_duplicate_measure() -> None:
    training = TrainingText("t", ["Mutations in the CFTR gene cause cystic fibrosis , which affects the lungs .",
                                  "the cat sat on the mat by the door of the old house today"])
    assert training.match("mutations in the CFTR-gene cause cystic fibrosis, which affects the lungs!")[0] == "exact"
    edited = training.match("The cat sat on the mat by the door of the old house, yesterday")
    assert edited[0].startswith("3-gram Jaccard")
    assert "consecutive" in training.match("Mutations in the CFTR gene cause cystic fibrosis in children")[0]
    assert training.match("Mutations in the CFTR gene explain most cases of the disease") is None
    probe = training.match(f"Mutations in the CFTR gene cause cystic {HOLE} , which affects the lungs")
    assert probe[0] == "exact but for the masked word"
    assert normalise("early-onset Alzheimer") == normalise("early - onset alzheimer")


def test_the_extraction_finds_demo_sentences_and_quiz_examples() -> None:
    demos = notebook_demo_sentences(NOTEBOOKS / "05_ner.ipynb")
    assert any(len(normalise(text)) >= 8 and text[0].isupper() for text in demos)   # sentences, not only labels
    assert all(len(normalise(text)) >= MIN_DEMO_WORDS for text in demos)
    tree = ast.parse('w = ["The", "cat", "sat", "down"]\np = f"The {m} sat on the mat."')
    assert {_literal(node) for node in ast.walk(tree)} >= {"The cat sat down", f"The  {HOLE}  sat on the mat."}
    assert quiz_examples("05_ner")


def test_held_out_splits_are_not_copies_of_training_text() -> None:
    offenders = [o for name, (read, lesson) in HELD_OUT.items() for o in _offenders(name, read(), lesson)]
    _check(offenders)


def test_notebook_demo_sentences_are_new_to_the_lesson() -> None:
    offenders = [o for lesson in LESSONS
                 for o in _offenders(f"notebooks/{lesson}.ipynb",
                                     notebook_demo_sentences(NOTEBOOKS / f"{lesson}.ipynb"), LESSON_TRAINING[lesson])]
    _check(offenders)


def test_quiz_examples_are_new_to_the_lesson() -> None:
    offenders = [o for lesson in LESSONS
                 for o in _offenders(f"quiz {lesson}", quiz_examples(lesson), LESSON_TRAINING[lesson])]
    _check(offenders)
