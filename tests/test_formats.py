"""The local-format readers name the file and line of bad input instead of failing later."""

from __future__ import annotations

import gzip
import json
import re
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


# -- damaged and unusual files (issue 15, items 12 and 13) ------------------------------------

def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@pytest.mark.parametrize(("name", "content", "line"), [
    ("train.jsonl", b'{"text": "fine", "label": 0}\n{"text": "caf\xe9", "label": 0}\n', 2),  # Latin-1
    ("train.jsonl", '{"text": "fine", "label": 0}\n'.encode("utf-16"), 1),
    ("train.conll", b"Paris B-LOC\n\nna\xefve O\n", 3),
    ("labels.txt", b"joy\nsadness\nna\xefve\n", 3),
    ("train.jsonl.gz", gz(b'{"text": "fine", "label": 0}\n{"text": "caf\xe9", "label": 0}\n'), 2),
    # issue 28: UTF-16 without a byte order mark decodes as "UTF-8" full of NUL bytes
    ("train.jsonl", '{"text": "fine", "label": 0}\n'.encode("utf-16-be"), 1),
    ("labels.txt", "joy\nsadness\n".encode("utf-16-le"), 1),
])
def test_text_that_is_not_utf8_names_file_and_line(tmp_path: Path, name: str, content: bytes, line: int) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=rf"{re.escape(name)}, line {line}: not UTF-8 text") as raised:
        read_any(path)
    assert "UTF-8" in raised.value.fix


def read_any(path: Path) -> object:
    if path.name.startswith("labels"):
        return formats.read_labels(path)
    if ".conll" in path.name:
        return formats.read_token_classification(path, ["O", "B-LOC"])
    return formats.read_text_classification(path, LABELS)


@pytest.mark.parametrize("damage", ["truncated", "bad crc", "plain text"])
def test_damaged_gzip_is_a_short_error(tmp_path: Path, damage: str) -> None:
    text = "".join(f"Sentence number {i} of a corpus.\n" for i in range(2000)).encode()
    packed = gz(text)
    content = {"truncated": packed[: len(packed) // 2],
               "bad crc": packed[:-8] + bytes(4) + packed[-4:],
               "plain text": text}[damage]
    path = tmp_path / "train.txt.gz"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=r"train.txt.gz, line \d+: .*gzip") as raised:
        formats.read_documents(path)
    assert "gzip -t" in raised.value.fix


@pytest.mark.parametrize("content", ["", "\n  \n\t\n"])
@pytest.mark.parametrize("name", ["train.jsonl", "train.conll"])
def test_empty_data_files_are_named(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataFormatError, match=rf"{name} holds no examples"):
        read_any(path)


def test_byte_order_marks_are_stripped(tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_bytes("\ufeffsadness\njoy\n".encode())
    assert formats.read_labels(labels) == ["sadness", "joy"]
    conll = tmp_path / "train.conll"
    conll.write_bytes("\ufeff-DOCSTART- -X- O O\n\nParis NNP B-LOC\n".encode())
    assert formats.read_token_classification(conll, ["O", "B-LOC"]) == [{"tokens": ["Paris"], "ner_tags": [1]}]
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_bytes('\ufeff{"text": "fine", "label": "joy"}\n'.encode())
    assert formats.read_text_classification(jsonl, LABELS)[0]["text"] == "fine"


def test_mixed_conll_column_counts_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "train.conll"
    path.write_text("Paris NNP B-LOC\nis VBZ O\n\nRome B-LOC\n")
    with pytest.raises(DataFormatError, match="train.conll, line 4: 2 columns, but line 1 has 3"):
        formats.read_token_classification(path, ["O", "B-LOC"])


@pytest.mark.parametrize("kind", sorted(formats.FORMATS))
def test_each_kind_reads_back_what_it_writes(kind: str, tmp_path: Path) -> None:
    """One table entry per kind: what prefetch writes for a hub split, the reader loads unchanged."""
    import datasets

    table = formats.FORMATS[kind]
    labels = ["O", "B-X"] if kind == "token_classification" else ["sad", "glad"]
    if kind == "text_classification":
        split, expected = [{"text": "so glad", "label": 1}, {"text": "so sad", "label": 0}], None
    elif kind == "token_classification":
        split = [{"tokens": ["Ada", "wrote"], "ner_tags": [1, 0]}]
        expected = [{"tokens": ["Ada", "wrote"], "ner_tags": ["B-X", "O"]}]
    elif kind == "sentence_pairs":
        split = [{"sentence1": "A dog runs.", "sentence2": "A dog is running.", "score": 4.8}]
        expected = split
    elif kind == "question_answering":
        split = [{"id": "q1", "title": "Bells", "context": "Bells ring at noon.", "question": "When do bells ring?",
                  "answers": {"text": ["at noon", "noon"], "answer_start": [11, 14]}}]
        expected = split
    else:
        split = datasets.Dataset.from_list([{"text": t} for t in
                                            [" = Rivers = ", "Rivers flow. They carve valleys.", " = = Deltas = = ",
                                             "Deltas form at the mouth.", " = Bells = ", "Bells ring. They are cast."]])
        expected = [{"sentences": ["Rivers flow.", "They carve valleys.", "Deltas form at the mouth."]},
                    {"sentences": ["Bells ring.", "They are cast."]}]
    path = tmp_path / ("train.txt.gz" if kind == "corpus" else "train.jsonl")
    table.write(path, split, labels)
    rows = table.read(path, labels if table.label_column else [])
    if kind == "text_classification":
        assert rows == split
    elif kind == "token_classification":
        assert [{"tokens": r["tokens"], "ner_tags": [labels[t] if isinstance(t, int) else t for t in r["ner_tags"]]}
                for r in rows] == expected
    else:
        assert rows == expected
    assert set(table.features(labels, list(rows[0]))) == set(rows[0])


def test_first_present_takes_the_first_candidate_that_exists(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("x")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "train.txt.gz").write_bytes(b"")
    assert formats.first_present(tmp_path, ("train.jsonl", "train.txt", "raw/train.txt.gz")) == tmp_path / "train.txt"
    assert formats.first_present(tmp_path, ("validation.jsonl",)) is None


# -- rows outside the listed cases (issue 28, item 7) ------------------------------------------

SQUAD_ROW = {"id": "q1", "title": "T", "context": "Paris is big.", "question": "Where?",
             "answers": {"text": ["Paris"], "answer_start": [0]}}


@pytest.mark.parametrize(("line", "says"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"text": "fine", "label": ' + "7" * 5000 + "}", "a number too long"),
])
def test_json_lines_too_deep_or_too_long_name_file_and_line(tmp_path: Path, line: str, says: str) -> None:
    """Issue 28, item 7: a 100k-deep JSON line raised RecursionError and a 5,000-digit label
    ValueError, with neither file nor line."""
    path = write(tmp_path / "train.jsonl", '{"text": "fine", "label": 0}\n' + line + "\n")
    with pytest.raises(DataFormatError, match=rf"train.jsonl, line 2: not valid JSON \({says}"):
        formats.read_text_classification(path, LABELS)


@pytest.mark.parametrize(("change", "says"), [
    ({"context": 5}, '"context" must be text'),
    ({"question": 5}, '"question" must be text'),
    ({"question": ["Where?"]}, '"question" must be text'),
    ({"title": None}, '"title" must be text'),
    ({"answers": {"text": [5], "answer_start": [0]}}, "answers must be text"),
])
def test_squad_rows_of_the_wrong_types_name_file_and_line(tmp_path: Path, change: dict, says: str) -> None:
    """Issue 28, item 7: `context: 5` or a non-string answer text raised a raw TypeError, and a
    non-string question was accepted."""
    path = write(tmp_path / "train.jsonl", json.dumps(SQUAD_ROW) + "\n" + json.dumps(SQUAD_ROW | change) + "\n")
    with pytest.raises(DataFormatError, match=rf"train.jsonl, line 2: .*{re.escape(says)}"):
        formats.read_squad(path)


PAIR_LABELS = ["different", "paraphrase"]


def test_pair_classification_reads_both_sentences_and_maps_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", '{"sentence1": "The bus left at six.", "sentence2": "At six the bus '
                 'departed.", "label": "paraphrase"}\n{"sentence1": "It rained.", "sentence2": "It did not rain.", '
                 '"label": 0}\n')
    assert formats.read_text_classification(path, PAIR_LABELS) == [
        {"sentence1": "The bus left at six.", "sentence2": "At six the bus departed.", "label": 1},
        {"sentence1": "It rained.", "sentence2": "It did not rain.", "label": 0}]
    assert formats.text_columns(["sentence1", "sentence2", "label"]) == ("sentence1", "sentence2")
    assert formats.text_columns(["text", "label"]) == ("text",)


@pytest.mark.parametrize(("rows", "message"), [
    ('{"sentence1": "A cat sat.", "label": 1}', r'line 1: missing or empty "sentence2" \(the second sentence of the pair\)'),
    ('{"sentence1": "A cat sat.", "sentence2": "  ", "label": 1}', r'line 1: missing or empty "sentence2"'),
    ('{"sentence1": "A.", "sentence2": "B.", "label": 1}\n{"sentence1": "C.", "label": 0}',
     r'line 2: missing or empty "sentence2"'),
    ('{"sentence1": "A.", "sentence2": "B.", "label": 1}\n{"text": "C.", "label": 0}', r'line 2: missing or empty "sentence1"'),
    ('{"sentence1": "A.", "sentence2": "B.", "label": "entailment"}', r"line 1: label 'entailment' is not in labels\.txt"),
    ('{"sentence1": "A.", "sentence2": "B.", "label": 2}', r"line 1: label 2 is not in labels\.txt"),
    ('{"sentence1": "A.", "sentence2": "B."}', r'line 1: missing "label"'),
    ("\n\n", r"train\.jsonl holds no examples"),
])
def test_every_bad_pair_row_is_one_clear_error(tmp_path: Path, rows: str, message: str) -> None:
    path = write(tmp_path / "train.jsonl", rows + "\n")
    with pytest.raises(DataFormatError, match=message) as caught:
        formats.read_text_classification(path, PAIR_LABELS)
    assert len(caught.value.problem.splitlines()) == 1 and caught.value.problem.startswith("train.jsonl")


def test_pair_features_follow_the_columns_read() -> None:
    features = formats.FORMATS["text_classification"].features(PAIR_LABELS, ["sentence1", "sentence2", "label"])
    assert list(features) == ["sentence1", "sentence2", "label"] and features["label"].names == PAIR_LABELS
    assert list(formats.FORMATS["text_classification"].features(PAIR_LABELS, ["text", "label"])) == ["text", "label"]


def test_prefetch_writes_pair_rows_the_reader_loads(tmp_path: Path) -> None:
    """A hub pair set (MRPC's columns plus its `idx`) is written as pairs, not as a missing "text"."""
    split = [{"sentence1": "He won.", "sentence2": "He was the winner.", "label": 1, "idx": 0}]
    table = formats.FORMATS["text_classification"]
    table.write(tmp_path / "train.jsonl", split, PAIR_LABELS)
    assert table.read(tmp_path / "train.jsonl", PAIR_LABELS) == [
        {"sentence1": "He won.", "sentence2": "He was the winner.", "label": 1}]
