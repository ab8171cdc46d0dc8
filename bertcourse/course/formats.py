"""Readers and writers for the local data formats the course accepts, one table entry per kind.

The formats are deliberately plain so instructors can bring their own copies:
- text classification: jsonl `{"text": str, "label": int | str}` + `labels.txt` (line i = label i),
  or for sentence-pair classification (paraphrase, inference) `{"sentence1", "sentence2", "label"}`;
- token classification: jsonl `{"tokens": [str], "ner_tags": [str | int]}` + `labels.txt`,
  or CoNLL column files (token first, tag last, blank line between sentences);
- extractive QA: jsonl in the hub's `squad` schema `{"id", "title", "context", "question",
  "answers": {"text": [str], "answer_start": [int]}}`;
- sentence pairs: jsonl `{"sentence1": str, "sentence2": str, "score": float}` (STS, 0 to 5);
- corpora: plain text (optionally .gz), one paragraph or sentence per line, a blank line
  between documents.
Every reader validates as it goes and names the file and line of the first problem, because a
learner cannot debug "KeyError: 'label'" raised deep inside a training loop. That includes the
bytes themselves: text that is not UTF-8 (Latin-1, UTF-16 with or without a byte order mark)
and damaged gzip data are reported with the line they were met on, a UTF-8 byte order mark is
dropped, and a file with no examples is an error rather than an empty split. So is a JSON line
nested too deeply or holding a number too long to read, and a field of the wrong type.

`FORMATS` holds, per dataset kind, the reader, the `datasets` features a split loads as, the
writer `bertcourse prefetch` uses for a hub split, and whether a `labels.txt` goes with it; a new
kind of dataset is one new entry. `first_present` picks among a split's candidate file names.
`text_columns` is the one place that decides "single text or sentence pair": the reader, the
features, the prefetch writer, the tokenizer and the model head of `bertcourse.classification`
all ask it, so pair data never meets a path written for one text.

Room: course (`bertcourse.course`).
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bertcourse.course.errors import DataFormatError, ResourceUnavailable

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a UTF-8 text file, transparently decompressing `.gz`.

    Bytes are decoded line by line so that an encoding problem or damaged gzip data is a
    `DataFormatError` naming the file and line, not a UnicodeDecodeError or EOFError with
    neither; a leading byte order mark is dropped (editors on Windows add one)."""
    if not path.is_file():
        raise ResourceUnavailable(f"Missing data file: {path.name} (looked in {path.parent}).",
                                  fix="check BERTCOURSE_DATA_DIR, or run `bertcourse prefetch` and set the line it prints")
    line_no = 0
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as handle:
            for line_no, raw in enumerate(handle, start=1):
                if line_no == 1 and raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    raise UnicodeDecodeError("utf-8", raw, 0, 2, "UTF-16 byte order mark")
                if b"\x00" in raw:  # UTF-16 without a byte order mark is "valid UTF-8" full of NULs
                    raise UnicodeDecodeError("utf-8", raw, raw.index(b"\x00"), len(raw), "NUL byte")
                line = raw.decode("utf-8")
                yield line_no, line.removeprefix("\ufeff") if line_no == 1 else line
    except UnicodeDecodeError:
        raise DataFormatError(f"{path.name}, line {line_no}: not UTF-8 text.",
                              fix="save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8` or your editor's "
                                  "'Save with encoding')") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataFormatError(f"{path.name}, line {line_no + 1}: the gzip data is damaged or not gzip "
                              f"({error}).", fix="copy or download the file again; `gzip -t FILE` checks "
                              "it (plain text must not be named .gz)") from None


def read_labels(path: Path) -> list[str]:
    """Label names in id order from a `labels.txt`."""
    labels = [line.strip() for _, line in text_lines(path) if line.strip()]
    if len(set(labels)) != len(labels):
        raise DataFormatError(f"{path.name} lists a label twice.", fix="keep each label on one line, once")
    return labels


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict]]:
    for line_no, line in text_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFormatError(f"{path.name}, line {line_no}: not valid JSON ({err.msg}).",
                                  fix="each line must be one JSON object") from None
        except RecursionError:
            raise DataFormatError(f"{path.name}, line {line_no}: not valid JSON (nested too deeply).",
                                  fix="each line must be one flat JSON object") from None
        except ValueError:  # Python refuses to read an integer of over 4,300 digits
            raise DataFormatError(f"{path.name}, line {line_no}: not valid JSON (a number too long to read).",
                                  fix="labels are names or small ids; check the row") from None
        if not isinstance(row, dict):
            raise DataFormatError(f"{path.name}, line {line_no}: expected a JSON object.")
        yield line_no, row


def _not_empty(rows: list[dict], path: Path) -> list[dict]:
    """`rows`, unless there are none: an empty split would fail later inside `datasets`."""
    if not rows:
        raise DataFormatError(f"{path.name} holds no examples.",
                              fix="check that the file was copied completely (it is empty or blank)")
    return rows


PAIR_COLUMNS = ("sentence1", "sentence2")
_SENTENCE_ROLES = {"sentence1": "the first sentence of the pair", "sentence2": "the second sentence of the pair"}


def text_columns(columns: Iterable[str]) -> tuple[str, ...]:
    """The columns that hold a row's input text: the pair ("sentence1", "sentence2") when the row's
    (or dataset's) columns include "sentence1", otherwise the single "text".

    Deciding this once, from the data, is what lets one pipeline serve emotion tweets and
    paraphrase pairs alike: BERT reads a pair as `[CLS] A [SEP] B [SEP]` with segment ids 0/1."""
    return PAIR_COLUMNS if PAIR_COLUMNS[0] in set(columns) else ("text",)


def _texts(row: dict, columns: tuple[str, ...], where: str) -> dict[str, str]:
    """`row`'s input texts under `columns`, each a non-empty string, or an error naming the one missing."""
    for column in columns:
        text = row.get(column)
        if not isinstance(text, str) or not text.strip():
            role = f" ({_SENTENCE_ROLES[column]})" if column in _SENTENCE_ROLES else ""
            raise DataFormatError(f"{where}: missing or empty \"{column}\"{role}.",
                                  fix=f"give every row {' and '.join(repr(c) for c in columns)}, as the first row does")
    return {column: row[column] for column in columns}


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
    """Rows `{"text", "label": id}`, or `{"sentence1", "sentence2", "label": id}` for pair data,
    from a jsonl file. The first row decides which (`text_columns`) and every row must follow it:
    a pair with its second sentence missing would otherwise train as a single text."""
    rows = []
    columns: tuple[str, ...] | None = None
    for line_no, row in _jsonl_rows(path):
        where = f"{path.name}, line {line_no}"
        columns = columns or text_columns(row)
        texts = _texts(row, columns, where)
        if "label" not in row:
            raise DataFormatError(f"{where}: missing \"label\".")
        rows.append({**texts, "label": _label_id(row["label"], labels, where)})
    return _not_empty(rows, path)


def _checked_sentence(tokens: object, tags: object, labels: list[str], where: str) -> dict:
    if not isinstance(tokens, list) or not isinstance(tags, list) or not tokens:
        raise DataFormatError(f"{where}: need non-empty lists \"tokens\" and \"ner_tags\".")
    if len(tokens) != len(tags):
        raise DataFormatError(f"{where}: {len(tokens)} tokens but {len(tags)} tags.")
    return {"tokens": [str(token) for token in tokens],
            "ner_tags": [_label_id(tag, labels, where) for tag in tags]}


def read_token_classification(path: Path, labels: list[str]) -> list[dict]:
    """Sentences `{"tokens", "ner_tags": [id]}` from jsonl or a CoNLL column file."""
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return _not_empty([_checked_sentence(row.get("tokens"), row.get("ner_tags"), labels,
                                             f"{path.name}, line {n}") for n, row in _jsonl_rows(path)], path)
    sentences: list[dict] = []
    tokens: list[str] = []
    tags: list[str] = []
    first_columns: tuple[int, int] | None = None  # (line, column count) of the first token line
    for line_no, line in text_lines(path):
        columns = line.split()
        if columns and columns[0] != "-DOCSTART-":
            if len(columns) < 2:
                raise DataFormatError(f"{path.name}, line {line_no}: expected 'token ... tag' columns.")
            if first_columns is None:
                first_columns = (line_no, len(columns))
            elif len(columns) != first_columns[1]:  # a shifted column would make the tag a POS
                raise DataFormatError(f"{path.name}, line {line_no}: {len(columns)} columns, but line "
                                      f"{first_columns[0]} has {first_columns[1]}.",
                                      fix="give every token line the same columns (token first, tag last)")
            tokens.append(columns[0])
            tags.append(columns[-1])
        elif tokens:
            sentences.append(_checked_sentence(tokens, tags, labels, f"{path.name}, line {line_no}"))
            tokens, tags = [], []
    if tokens:
        sentences.append(_checked_sentence(tokens, tags, labels, f"{path.name}, end of file"))
    return _not_empty(sentences, path)


def read_sentence_pairs(path: Path, labels: list[str] | None = None) -> list[dict]:
    """Rows `{"sentence1", "sentence2", "score"}` from a jsonl file, scores on the 0-5 STS scale."""
    rows = []
    for line_no, row in _jsonl_rows(path):
        where = f"{path.name}, line {line_no}"
        texts = _texts(row, PAIR_COLUMNS, where)
        score = row.get("score")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 5:
            raise DataFormatError(f"{where}: \"score\" must be a number from 0 to 5, not {score!r}.")
        rows.append({**texts, "score": float(score)})
    return _not_empty(rows, path)


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences at ., ! or ? followed by a capital or digit.

    Good enough for encyclopedic text; NSP only needs plausible sentence boundaries.
    """
    return [part.strip() for part in _SENTENCE_END.split(paragraph) if part.strip()]


def read_documents(path: Path) -> list[list[str]]:
    """Documents (lists of sentences) from plain text with blank lines between documents."""
    documents: list[list[str]] = []
    current: list[str] = []
    for _, line in text_lines(path):
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


def read_squad(path: Path, labels: list[str] | None = None) -> list[dict]:
    """Questions in the `squad` schema from jsonl, each answer checked to sit verbatim at its
    `answer_start` (a wrong offset would silently train the span head on the wrong tokens)."""
    rows = []
    for line_no, row in _jsonl_rows(path):
        where = f"{path.name}, line {line_no}"
        missing = [key for key in ("id", "title", "context", "question", "answers") if key not in row]
        if missing:
            raise DataFormatError(f"{where}: missing {', '.join(missing)}.", fix="use the squad schema: "
                                  '{"id", "title", "context", "question", "answers": {"text": [...], "answer_start": [...]}}')
        not_text = next((key for key in ("title", "context", "question") if not isinstance(row[key], str)), None)
        if not_text or isinstance(row["id"], bool) or not isinstance(row["id"], (str, int)):
            raise DataFormatError(f"{where}: \"{not_text or 'id'}\" must be text, not {type(row[not_text or 'id']).__name__}.")
        answers = row["answers"] if isinstance(row["answers"], dict) else {}
        texts, starts = answers.get("text"), answers.get("answer_start")
        if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
            raise DataFormatError(f"{where}: \"answers\" needs lists \"text\" and \"answer_start\" of equal length.")
        if not all(isinstance(text, str) for text in texts):
            raise DataFormatError(f"{where}: the answers must be text (\"answers\": {{\"text\": [\"...\"]}}).")
        for text, start in zip(texts, starts):
            if not isinstance(start, int) or row["context"][start:start + len(text)] != text:
                raise DataFormatError(f"{where}: answer {text!r} is not at character {start} of the context.",
                                      fix="answer_start is the 0-based character offset of the answer in the context")
        rows.append({"id": str(row["id"]), "title": row["title"], "context": row["context"],
                     "question": row["question"], "answers": {"text": texts, "answer_start": starts}})
    return _not_empty(rows, path)


def read_corpus(path: Path, labels: list[str]) -> list[dict]:
    """`read_documents` as dataset rows `{"sentences": [...]}` (a corpus has no labels)."""
    return [{"sentences": document} for document in read_documents(path)]


def wikitext_articles(lines: Iterable[str]) -> Iterator[list[str]]:
    """Group WikiText lines into articles of paragraphs: ' = Title = ' starts one, section headings
    (' = = Section = = ') are dropped. The one WikiText parser of the course (hub loading and prefetch)."""
    article: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("= ") and not stripped.startswith("= = "):
            if article:
                yield article
            article = []
        elif stripped and not stripped.startswith("="):
            article.append(stripped)
    if article:
        yield article


def first_present(folder: Path, candidates: Sequence[str]) -> Path | None:
    """The first of a split's candidate file names that exists in `folder` (None if none does)."""
    return next((folder / name for name in candidates if (folder / name).is_file()), None)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (model weights do not fit a laptop's memory twice)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_corpus(path: Path, documents: Iterable[list[str]]) -> None:
    """Paragraph per line, blank line between documents; gzip (mtime 0, reproducible) for `.gz`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw:
        sink = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if path.suffix == ".gz" else raw
        try:
            first = True
            for document in documents:
                sink.write(("" if first else "\n").encode() + "".join(p + "\n" for p in document).encode("utf-8"))
                first = False
        finally:
            if sink is not raw:
                sink.close()


@dataclass(frozen=True)
class DatasetFormat:
    """Everything the course does with one kind of dataset's local files, in one place."""

    read: Callable[[Path, list[str]], list[dict]]      # (file, label names) -> rows
    features: Callable[[list[str], Sequence[str]], Any]  # (label names, the columns read) -> `datasets.Features`
    write: Callable[[Path, Any, list[str]], None]      # (file, hub split, label names): what prefetch writes
    label_column: str | None                            # the column whose names go to labels.txt (None: no labels)


# `datasets` is imported only when a split is built: the CLI and the quiz tools read these files too
# and should not pay for it.
def _text_classification_features(labels: list[str], columns: Sequence[str]) -> Any:
    import datasets

    return datasets.Features({**{column: datasets.Value("string") for column in text_columns(columns)},
                              "label": datasets.ClassLabel(names=labels)})


def _token_classification_features(labels: list[str], columns: Sequence[str]) -> Any:
    import datasets

    return datasets.Features({"tokens": datasets.List(datasets.Value("string")),
                              "ner_tags": datasets.List(datasets.ClassLabel(names=labels))})


def _squad_features(labels: list[str], columns: Sequence[str]) -> Any:
    import datasets

    return datasets.Features({"id": datasets.Value("string"), "title": datasets.Value("string"),
                              "context": datasets.Value("string"), "question": datasets.Value("string"),
                              "answers": {"text": datasets.List(datasets.Value("string")),
                                          "answer_start": datasets.List(datasets.Value("int32"))}})


def _corpus_features(labels: list[str], columns: Sequence[str]) -> Any:
    import datasets

    return datasets.Features({"sentences": datasets.List(datasets.Value("string"))})


def _sentence_pair_features(labels: list[str], columns: Sequence[str]) -> Any:
    import datasets

    return datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
                              "score": datasets.Value("float32")})


FORMATS: dict[str, DatasetFormat] = {
    "text_classification": DatasetFormat(
        read=read_text_classification,
        features=_text_classification_features,
        write=lambda path, split, names: write_jsonl(
            path, ({**{column: row[column] for column in text_columns(row)}, "label": int(row["label"])}
                   for row in split)),
        label_column="label"),
    "token_classification": DatasetFormat(
        read=read_token_classification,
        features=_token_classification_features,
        write=lambda path, split, names: write_jsonl(
            path, ({"tokens": list(row["tokens"]), "ner_tags": [names[tag] for tag in row["ner_tags"]]}
                   for row in split)),
        label_column="ner_tags"),
    "question_answering": DatasetFormat(
        read=read_squad,
        features=_squad_features,
        write=lambda path, split, names: write_jsonl(
            path, ({"id": row["id"], "title": row["title"], "context": row["context"], "question": row["question"],
                    "answers": {"text": list(row["answers"]["text"]),
                                "answer_start": [int(start) for start in row["answers"]["answer_start"]]}}
                   for row in split)),
        label_column=None),
    "corpus": DatasetFormat(
        read=read_corpus,
        features=_corpus_features,
        write=lambda path, split, names: write_corpus(
            path, wikitext_articles(line for batch in split.iter(batch_size=10_000) for line in batch["text"])),
        label_column=None),
    "sentence_pairs": DatasetFormat(
        read=read_sentence_pairs,
        features=_sentence_pair_features,
        write=lambda path, split, names: write_jsonl(
            path, ({"sentence1": row["sentence1"], "sentence2": row["sentence2"], "score": float(row["score"])}
                   for row in split)),
        label_column=None),
}
