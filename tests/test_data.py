"""The course's own datasets: well-formed, split without overlap, in sync with their authored sources."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bertcourse.course import formats

DATA = Path(__file__).resolve().parents[1] / "data"
SPLITS = ("train", "validation", "test")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.mark.parametrize(("folder", "text_of"), [
    ("emotion", lambda row: row["text"]),
    ("ner", lambda row: " ".join(row["tokens"])),
    ("bio_ner", lambda row: " ".join(row["tokens"])),
])
def test_splits_do_not_overlap(folder: str, text_of) -> None:
    texts = {split: {_normalised(text_of(row)) for row in _jsonl(DATA / folder / f"{split}.jsonl")} for split in SPLITS}
    for i, first in enumerate(SPLITS):
        for second in SPLITS[i + 1:]:
            assert not texts[first] & texts[second], f"{folder}: {first} and {second} share examples"


@pytest.mark.parametrize("folder", ["corpus", "bio_corpus"])
def test_corpus_splits_do_not_share_documents(folder: str) -> None:
    train = {tuple(doc) for doc in formats.read_documents(DATA / folder / "train.txt")}
    validation = {tuple(doc) for doc in formats.read_documents(DATA / folder / "validation.txt")}
    assert train and validation and not train & validation


def test_emotion_set_is_large_varied_and_covers_all_six_labels() -> None:
    labels = formats.read_labels(DATA / "emotion" / "labels.txt")
    assert labels == ["sadness", "joy", "love", "anger", "fear", "surprise"]
    rows = [row for split in SPLITS for row in formats.read_text_classification(DATA / "emotion" / f"{split}.jsonl", labels)]
    assert len(rows) >= 900
    counts = Counter(row["label"] for row in rows)
    assert set(counts) == set(range(6)) and min(counts.values()) >= 30
    for split in ("validation", "test"):
        split_labels = {row["label"] for row in formats.read_text_classification(DATA / "emotion" / f"{split}.jsonl", labels)}
        assert split_labels == set(range(6)), f"{split} misses a label"
    assert len({_normalised(row["text"]) for row in rows}) == len(rows)


@pytest.mark.parametrize(("folder", "types"), [("ner", {"PER", "ORG", "LOC", "MISC"}), ("bio_ner", {"Disease"})])
def test_ner_sets_are_valid_iob2(folder: str, types: set[str]) -> None:
    labels = formats.read_labels(DATA / folder / "labels.txt")
    sentences = [s for split in SPLITS for s in formats.read_token_classification(DATA / folder / f"{split}.jsonl", labels)]
    assert len(sentences) >= 300
    seen_types = set()
    for sentence in sentences:
        previous = "O"
        for tag in (labels[i] for i in sentence["ner_tags"]):
            if tag.startswith("I-"):
                assert previous[2:] == tag[2:], f"{folder}: {tag} after {previous} in {' '.join(sentence['tokens'])}"
            previous = tag
        seen_types |= {labels[i][2:] for i in sentence["ner_tags"] if labels[i] != "O"}
    assert seen_types == types


def test_splits_are_exactly_the_authored_sources() -> None:
    """data/split_data.py derives the splits; a source edited without re-running it fails here."""
    sources = [row["text"] for path in sorted((DATA / "emotion" / "parts").glob("*.jsonl")) for row in _jsonl(path)]
    split_texts = [row["text"] for split in SPLITS for row in _jsonl(DATA / "emotion" / f"{split}.jsonl")]
    assert sorted(set(map(_normalised, sources))) == sorted(map(_normalised, split_texts))
    for folder in ("ner", "bio_ner"):
        authored = {_normalised(" ".join(row["tokens"])) for row in _jsonl(DATA / folder / "all.jsonl")}
        derived = [_normalised(" ".join(row["tokens"])) for split in SPLITS for row in _jsonl(DATA / folder / f"{split}.jsonl")]
        assert sorted(authored) == sorted(derived), f"{folder}: re-run python data/split_data.py"


# --- lesson 09: STS pairs, FAQ corpus, labelled queries, intents ---------------------------------

def _content_words(text: str) -> set[str]:
    stop = {"a", "an", "the", "is", "it", "my", "i", "to", "of", "in", "on", "and", "or", "do", "how", "what",
            "can", "for", "with", "after", "when", "does", "this", "that", "at", "by", "be", "are", "from"}
    return {word.strip(".,?!'\"") for word in text.lower().split()} - stop - {""}


def _overlap(first: str, second: str) -> float:
    """Jaccard overlap of content words: 1 for the same words, 0 for none in common."""
    a, b = _content_words(first), _content_words(second)
    return len(a & b) / max(1, len(a | b))


def test_sts_pairs_are_graded_across_the_range_and_split_without_overlap() -> None:
    splits = {split: formats.read_sentence_pairs(DATA / "sts" / f"{split}.jsonl") for split in ("validation", "test")}
    for split, rows in splits.items():
        assert len(rows) >= 80, split
        assert {int(min(row["score"], 4.9)) for row in rows} == {0, 1, 2, 3, 4}, f"{split} misses a score band"
    keys = {split: {_normalised(row["sentence1"] + " || " + row["sentence2"]) for row in rows} for split, rows in splits.items()}
    assert not keys["validation"] & keys["test"]
    authored = [_normalised(row["sentence1"] + " || " + row["sentence2"]) for row in _jsonl(DATA / "sts" / "all.jsonl")]
    assert sorted(set(authored)) == sorted(keys["validation"] | keys["test"]), "sts: re-run python data/split_data.py"
    sentences = [row[key] for rows in splits.values() for row in rows for key in ("sentence1", "sentence2")]
    assert len({_normalised(s) for s in sentences}) == len(sentences), "a sentence is reused in two pairs"


FAQ_QUERIES = {"queries.jsonl": 40, "validation_queries.jsonl": 30}   # file: the fewest queries it must hold


@pytest.mark.parametrize("name", FAQ_QUERIES)
def test_faq_ids_are_unique_and_every_query_points_at_real_entries(name: str) -> None:
    faq = _jsonl(DATA / "faq" / "faq.jsonl")
    ids = [entry["id"] for entry in faq]
    assert len(ids) == len(set(ids)) and len(faq) >= 60
    assert all(entry["question"].strip() and entry["answer"].strip() for entry in faq)
    queries = _jsonl(DATA / "faq" / name)
    assert len(queries) >= FAQ_QUERIES[name]
    for row in queries:
        assert row["relevant"] and set(row["relevant"]) <= set(ids), row["query"]
        assert row["kind"] in {"paraphrase", "lexical", "exact"}
    assert {row["kind"] for row in queries} == {"paraphrase", "lexical", "exact"}


@pytest.mark.parametrize("name", FAQ_QUERIES)
def test_queries_are_not_copies_of_the_faq_they_search(name: str) -> None:
    """A query that repeats an FAQ question would measure string matching, not search (and the FAQ
    questions are what notebook 09's cross-encoder is trained on)."""
    faq = _jsonl(DATA / "faq" / "faq.jsonl")
    for row in _jsonl(DATA / "faq" / name):
        closest = max(faq, key=lambda entry: _overlap(row["query"], entry["question"]))
        assert _overlap(row["query"], closest["question"]) < 0.6, (row["query"], closest["question"])


def test_validation_queries_are_not_copies_of_test_queries() -> None:
    """The validation queries choose a re-ranker's settings; a near-copy of a test query would leak
    the test into that choice."""
    test = [row["query"] for row in _jsonl(DATA / "faq" / "queries.jsonl")]
    for row in _jsonl(DATA / "faq" / "validation_queries.jsonl"):
        closest = max(test, key=lambda query: _overlap(row["query"], query))
        assert _overlap(row["query"], closest) < 0.5, (row["query"], closest)


def test_the_faucet_scenario_needs_meaning_not_keywords() -> None:
    faq = {entry["id"]: entry for entry in _jsonl(DATA / "faq" / "faq.jsonl")}
    query = next(row for row in _jsonl(DATA / "faq" / "queries.jsonl") if row["query"] == "how to fix a leaking faucet")
    answer = faq[query["relevant"][0]]
    assert "dripping tap" in answer["question"]
    text = (answer["question"] + " " + answer["answer"]).lower()
    assert not {"fix", "leak", "leaking", "faucet"} & set(text.replace(".", " ").replace(",", " ").split())


def test_intents_cover_every_label_in_both_splits_without_overlap() -> None:
    labels = formats.read_labels(DATA / "intents" / "labels.txt")
    train = formats.read_text_classification(DATA / "intents" / "train.jsonl", labels)
    test = formats.read_text_classification(DATA / "intents" / "test.jsonl", labels)
    assert Counter(row["label"] for row in train) == Counter({label: 4 for label in range(len(labels))})
    assert {row["label"] for row in test} == set(range(len(labels)))
    assert not {_normalised(row["text"]) for row in train} & {_normalised(row["text"]) for row in test}
    assert "I want to book a flight to Paris next week" in {row["text"] for row in test}
    for message in test:   # held-out messages are not near-copies of the labelled examples
        assert max(_overlap(message["text"], example["text"]) for example in train) < 0.6, message["text"]


def _qa_rows(split: str) -> list[dict]:
    """A split of data/qa, or "drills": the training-only questions of data/qa/drills.txt."""
    return formats.read_squad(DATA / "qa" / f"{split}.jsonl")


QA_FILES = (*SPLITS, "drills")


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = _normalised(text).split()
    return set(zip(words, words[1:], words[2:]))


def test_qa_answers_sit_verbatim_at_their_offsets() -> None:
    """Every answer is the exact text at answer_start of its context (what the span labels are built from)."""
    rows = [row for split in QA_FILES for row in _qa_rows(split)]
    assert len(rows) >= 300
    for row in rows:
        assert row["question"].strip().endswith(("?", ".")), row["question"]
        for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"], strict=True):
            assert text and row["context"][start:].startswith(text), f"{row['id']}: {text!r} not at {start}"
    assert len({row["id"] for row in rows}) == len(rows)
    assert len({_normalised(row["question"]) for row in rows}) == len(rows), "a question is written twice"


def test_qa_splits_are_by_document_and_from_the_corpus() -> None:
    """No document (title or context) in two splits, no near-copy of a document across splits,
    and every context is a document of data/corpus."""
    corpus = {" ".join(sentence for sentence in document) for path in (DATA / "corpus").glob("parts/*.txt")
              for document in [block.split("\n") for block in path.read_text(encoding="utf-8").split("\n\n")]}
    contexts = {split: {row["context"] for row in _qa_rows(split)} for split in SPLITS}
    titles = {split: {row["title"] for row in _qa_rows(split)} for split in SPLITS}
    for i, first in enumerate(SPLITS):
        assert contexts[first] <= {document.strip() for document in corpus}, f"{first}: a context is not a corpus document"
        for second in SPLITS[i + 1:]:
            assert not titles[first] & titles[second] and not contexts[first] & contexts[second]
            for a in contexts[first]:
                for b in contexts[second]:
                    shared = len(_trigrams(a) & _trigrams(b)) / min(len(_trigrams(a)), len(_trigrams(b)))
                    assert shared < 0.3, f"{first} and {second} hold near-copies: {a[:60]!r} / {b[:60]!r}"
    assert min(len(titles[split]) for split in SPLITS) >= 10


def test_qa_questions_are_varied_not_templated() -> None:
    """Several question types, and no opening phrase dominating (templates repeat their start)."""
    from bertcourse.question_answering import question_type

    questions = [row["question"] for split in QA_FILES for row in _qa_rows(split)]
    types = Counter(question_type(question) for question in questions)
    assert {"who", "when", "where", "why", "how many / much", "what", "which", "how"} <= set(types)
    openings = Counter(" ".join(question.lower().split()[:3]) for question in questions)
    assert openings.most_common(1)[0][1] <= 0.05 * len(questions)


def test_qa_splits_are_exactly_the_authored_sources() -> None:
    """data/split_data.py derives data/qa/*.jsonl from data/qa/parts; re-run it after editing a part."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("split_data", DATA / "split_data.py")
    split_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(split_data)
    derived = sorted((row["id"], row["question"], row["answers"]["text"][0]) for split in SPLITS for row in _qa_rows(split))
    authored = sorted((row["id"], row["question"], row["answers"]["text"][0]) for row in split_data.read_qa_sources())
    assert derived == authored, "re-run python data/split_data.py"
    assert _qa_rows("drills") == split_data.read_qa_drills(), "re-run python data/split_data.py"


def test_qa_drills_hold_several_numbers_and_no_held_out_document() -> None:
    """The drills (training only) ask for one of several numbers in one paragraph; each document holds
    at least three, several questions ask for a number, and none is a near-copy of, or shares a title
    with, a validation or test document (they would leak into the held-out scores)."""
    import re

    drills = _qa_rows("drills")
    documents = {row["title"]: row["context"] for row in drills}
    assert len(documents) >= 15 and len(drills) >= 100
    for title, context in documents.items():
        assert len(re.findall(r"\d[\d,.:]*", context)) >= 3, title
        numeric = [row for row in drills if row["title"] == title and re.search(r"\d", row["answers"]["text"][0])]
        assert len(numeric) >= 3, title
    for split in ("validation", "test"):
        held_out = {row["title"]: row["context"] for row in _qa_rows(split)}
        assert not documents.keys() & held_out.keys()
        for a in documents.values():
            for b in held_out.values():
                shared = len(_trigrams(a) & _trigrams(b)) / min(len(_trigrams(a)), len(_trigrams(b)))
                assert shared < 0.1, f"a drill and a {split} document share text: {a[:60]!r} / {b[:60]!r}"


def test_qa_drills_teach_the_answer_shapes_of_a_dense_paragraph() -> None:
    """Besides numbers, the drills ask for what a paragraph like `ask_probe.json`'s holds and the course's
    documents rarely ask: a name's expansion, two-part answers ("A and B"), and who did something apart
    from when, both in one clause (so the model learns where the agent ends and the year begins)."""
    import re

    drills = _qa_rows("drills")
    answers = [row["answers"]["text"][0] for row in drills]
    assert sum(" and " in answer for answer in answers) >= 20
    assert sum(bool(re.search(r"stand for|short for|full name", row["question"])) for row in drills) >= 5
    same_clause = set()
    for who in (row for row in drills if row["question"].startswith(("Who ", "Which company "))):
        for when in (row for row in drills if row["title"] == who["title"] and re.fullmatch(r"\d{4}", row["answers"]["text"][0])):
            between = who["context"][min(who["answers"]["answer_start"][0], when["answers"]["answer_start"][0]):
                                     max(who["answers"]["answer_start"][0], when["answers"]["answer_start"][0])]
            if ". " not in between and len(between.split()) <= 12:
                same_clause.add(who["title"])
    assert len(same_clause) >= 8, sorted(same_clause)
