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
