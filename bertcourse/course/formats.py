"""Readers for the local data formats the course accepts.

The formats are deliberately plain so instructors can bring their own copies:
- text classification: jsonl `{"text": str, "label": int | str}` + `labels.txt` (line i = label i);
- token classification: jsonl `{"tokens": [str], "ner_tags": [str | int]}` + `labels.txt`,
  or CoNLL column files (token first, tag last, blank line between sentences);
- corpora: plain text (optionally .gz), one paragraph or sentence per line, a blank line
  between documents.
Every reader validates as it goes and names the file and line of the first problem, because a
learner cannot debug "KeyError: 'label'" raised deep inside a training loop.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from bertcourse.course.errors import DataFormatError, ResourceUnavailable

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


def open_text(path: Path) -> IO[str]:
    """Open a UTF-8 text file, transparently decompressing `.gz`."""
    if not path.is_file():
        raise ResourceUnavailable(f"Missing data file: {path.name} (looked in {path.parent}).",
                                  fix="check BERTCOURSE_DATA_DIR, or run `bertcourse prefetch` and set the line it prints")
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def read_labels(path: Path) -> list[str]:
    """Label names in id order from a `labels.txt`."""
    with open_text(path) as handle:
        labels = [line.strip() for line in handle if line.strip()]
    if len(set(labels)) != len(labels):
        raise DataFormatError(f"{path.name} lists a label twice.", fix="keep each label on one line, once")
    return labels


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict]]:
    with open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFormatError(f"{path.name}, line {line_no}: not valid JSON ({err.msg}).",
                                      fix="each line must be one JSON object") from None
            if not isinstance(row, dict):
                raise DataFormatError(f"{path.name}, line {line_no}: expected a JSON object.")
            yield line_no, row


def _label_id(value: object, labels: list[str], where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise DataFormatError(f"{where}: label {value!r} is neither a label name nor an id.")
    if isinstance(value, int):
        if 0 <= value < len(labels):
            return value
    elif value in labels:
        return labels.index(value)
    raise DataFormatError(f"{where}: label {value!r} is not in labels.txt ({', '.join(labels)}).",
                          fix="fix the row or add the label to labels.txt")


def read_text_classification(path: Path, labels: list[str]) -> list[dict]:
    """Rows `{"text", "label": id}` from a jsonl file."""
    rows = []
    for line_no, row in _jsonl_rows(path):
        where = f"{path.name}, line {line_no}"
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise DataFormatError(f"{where}: missing or empty \"text\".")
        if "label" not in row:
            raise DataFormatError(f"{where}: missing \"label\".")
        rows.append({"text": text, "label": _label_id(row["label"], labels, where)})
    return rows


def _checked_sentence(tokens: object, tags: object, labels: list[str], where: str) -> dict:
    if not isinstance(tokens, list) or not isinstance(tags, list) or not tokens:
        raise DataFormatError(f"{where}: need non-empty lists \"tokens\" and \"ner_tags\".")
    if len(tokens) != len(tags):
        raise DataFormatError(f"{where}: {len(tokens)} tokens but {len(tags)} tags.")
    return {"tokens": [str(token) for token in tokens],
            "ner_tags": [_label_id(tag, labels, where) for tag in tags]}


def read_token_classification(path: Path, labels: list[str]) -> list[dict]:
    """Sentences `{"tokens", "ner_tags": [id]}` from jsonl or a CoNLL column file."""
    if path.name.endswith(".jsonl"):
        return [_checked_sentence(row.get("tokens"), row.get("ner_tags"), labels, f"{path.name}, line {n}")
                for n, row in _jsonl_rows(path)]
    sentences: list[dict] = []
    tokens: list[str] = []
    tags: list[str] = []
    with open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            columns = line.split()
            if columns and columns[0] != "-DOCSTART-":
                if len(columns) < 2:
                    raise DataFormatError(f"{path.name}, line {line_no}: expected 'token ... tag' columns.")
                tokens.append(columns[0])
                tags.append(columns[-1])
            elif tokens:
                sentences.append(_checked_sentence(tokens, tags, labels, f"{path.name}, line {line_no}"))
                tokens, tags = [], []
    if tokens:
        sentences.append(_checked_sentence(tokens, tags, labels, f"{path.name}, end of file"))
    return sentences


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences at ., ! or ? followed by a capital or digit.

    Good enough for encyclopedic text; NSP only needs plausible sentence boundaries.
    """
    return [part.strip() for part in _SENTENCE_END.split(paragraph) if part.strip()]


def read_documents(path: Path) -> list[list[str]]:
    """Documents (lists of sentences) from plain text with blank lines between documents."""
    documents: list[list[str]] = []
    current: list[str] = []
    with open_text(path) as handle:
        for line in handle:
            if line.strip():
                current.extend(split_sentences(line.strip()))
            elif current:
                documents.append(current)
                current = []
    if current:
        documents.append(current)
    if not documents:
        raise DataFormatError(f"{path.name} holds no text.", fix="one sentence or paragraph per line, blank line between documents")
    return documents
