"""The local-format readers name the file and line of bad input instead of failing later."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bertcourse.course import formats
from bertcourse.course.errors import DataFormatError, ResourceUnavailable

LABELS = ["sadness", "joy"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_text_classification_accepts_ids_and_names(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", '{"text": "so happy", "label": "joy"}\n\n{"text": "meh", "label": 0}\n')
    assert formats.read_text_classification(path, LABELS) == [{"text": "so happy", "label": 1},
                                                               {"text": "meh", "label": 0}]


def test_malformed_jsonl_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", '{"text": "fine", "label": 1}\n{"text": "broken", \n')
    with pytest.raises(DataFormatError, match=r"train\.jsonl, line 2: not valid JSON"):
        formats.read_text_classification(path, LABELS)


@pytest.mark.parametrize("label", ['"anger"', "7", "-1", "true", "1.0"])
def test_label_outside_labels_txt_is_rejected(tmp_path: Path, label: str) -> None:
    path = write(tmp_path / "test.jsonl", f'{{"text": "grr", "label": {label}}}\n')
    with pytest.raises(DataFormatError, match=r"test\.jsonl, line 1: label"):
        formats.read_text_classification(path, LABELS)


def test_missing_text_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", '{"label": 1}\n')
    with pytest.raises(DataFormatError, match="line 1: missing or empty"):
        formats.read_text_classification(path, LABELS)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ResourceUnavailable, match="Missing data file: nowhere.jsonl"):
        formats.read_text_classification(tmp_path / "nowhere.jsonl", LABELS)


def test_token_classification_checks_lengths_and_tags(tmp_path: Path) -> None:
    labels = ["O", "B-PER", "I-PER"]
    good = write(tmp_path / "a.jsonl", '{"tokens": ["Ada", "Lovelace", "wrote"], "ner_tags": ["B-PER", "I-PER", "O"]}\n')
    assert formats.read_token_classification(good, labels) == [{"tokens": ["Ada", "Lovelace", "wrote"],
                                                                "ner_tags": [1, 2, 0]}]
    short = write(tmp_path / "b.jsonl", '{"tokens": ["Ada", "wrote"], "ner_tags": ["B-PER"]}\n')
    with pytest.raises(DataFormatError, match="2 tokens but 1 tags"):
        formats.read_token_classification(short, labels)
    unknown = write(tmp_path / "c.jsonl", '{"tokens": ["Ada"], "ner_tags": ["B-LOC"]}\n')
    with pytest.raises(DataFormatError, match="'B-LOC' is not in labels.txt"):
        formats.read_token_classification(unknown, labels)


def test_conll_columns_from_gzip(tmp_path: Path) -> None:
    path = tmp_path / "train.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("-DOCSTART- -X- -X- O\n\nAda NNP B-NP B-PER\nwrote VBD B-VP O\n\nHi UH O O\n")
    sentences = formats.read_token_classification(path, ["O", "B-PER"])
    assert sentences == [{"tokens": ["Ada", "wrote"], "ner_tags": [1, 0]}, {"tokens": ["Hi"], "ner_tags": [0]}]


def test_documents_split_on_blank_lines_and_sentences(tmp_path: Path) -> None:
    path = write(tmp_path / "corpus.txt", "Rivers flow. They carve valleys!\nBanks hold money.\n\n\nA second doc. Ends here.\n")
    assert formats.read_documents(path) == [["Rivers flow.", "They carve valleys!", "Banks hold money."],
                                            ["A second doc.", "Ends here."]]


def test_empty_corpus_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="holds no text"):
        formats.read_documents(write(tmp_path / "empty.txt", "\n\n"))


def test_duplicate_label_names_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="lists a label twice"):
        formats.read_labels(write(tmp_path / "labels.txt", "O\nB-PER\nO\n"))
