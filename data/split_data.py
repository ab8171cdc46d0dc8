"""Build the train/validation/test splits of the course's own datasets from their authored sources.

Authored sources (written by hand for this course) stay as they are:
  emotion/parts/*.jsonl, ner/all.jsonl, bio_ner/all.jsonl, corpus/parts/*.txt, bio_corpus/all.txt,
  sts/all.jsonl, paraphrase/all.jsonl, qa/parts/*.txt (questions written over corpus documents)
and this script derives the split files next to them, deterministically (fixed seed),
stratified by label for emotion and by whole score for sts, by document for QA (all questions on
one document land in the same split), by topic for paraphrase, after dropping exact duplicates (case- and
space-insensitive). faq/ and intents/ are authored as they are used, not derived.
Re-run it after adding examples:  python data/split_data.py
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parent
SEED = 13
FRACTIONS = {"train": 0.70, "validation": 0.15, "test": 0.15}
EMOTIONS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _unique(rows: list[dict], text_of) -> list[dict]:
    seen: set[str] = set()
    kept = []
    for row in rows:
        if _key(text_of(row)) not in seen:
            seen.add(_key(text_of(row)))
            kept.append(row)
    return kept


def _cut(rows: list, fractions: dict[str, float]) -> dict[str, list]:
    """Split shuffled `rows` by `fractions`, the last split taking the remainder."""
    splits, start = {}, 0
    names = list(fractions)
    for name in names[:-1]:
        end = start + round(len(rows) * fractions[name])
        splits[name], start = rows[start:end], end
    splits[names[-1]] = rows[start:]
    return splits


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def _read_jsonl(paths: list[Path]) -> list[dict]:
    return [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def split_emotion() -> None:
    rows = _unique(_read_jsonl(sorted((DATA / "emotion" / "parts").glob("*.jsonl"))), lambda row: row["text"])
    by_label: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_label[row["label"]].append({"text": row["text"], "label": EMOTIONS.index(row["label"])})
    splits: dict[str, list[dict]] = defaultdict(list)
    rng = random.Random(SEED)
    for label in EMOTIONS:
        group = by_label[label]
        rng.shuffle(group)
        for name, part in _cut(group, FRACTIONS).items():
            splits[name].extend(part)
    for name, part in splits.items():
        rng.shuffle(part)
        _write_jsonl(DATA / "emotion" / f"{name}.jsonl", part)
    (DATA / "emotion" / "labels.txt").write_text("\n".join(EMOTIONS) + "\n", encoding="utf-8")


def split_token_classification(folder: str) -> None:
    rows = _unique(_read_jsonl([DATA / folder / "all.jsonl"]), lambda row: " ".join(row["tokens"]))
    random.Random(SEED).shuffle(rows)
    for name, part in _cut(rows, FRACTIONS).items():
        _write_jsonl(DATA / folder / f"{name}.jsonl", part)


def split_corpus(folder: str, sources: list[Path]) -> None:
    documents = [block.strip() for path in sources for block in path.read_text(encoding="utf-8").split("\n\n")
                 if block.strip()]
    documents = list(dict.fromkeys(documents))
    random.Random(SEED).shuffle(documents)
    for name, part in _cut(documents, {"train": 0.9, "validation": 0.1}).items():
        (DATA / folder / f"{name}.txt").write_text("\n\n".join(part) + "\n", encoding="utf-8")


def split_sts() -> None:
    """Half validation (choosing thresholds), half test, each covering the whole 0-5 range."""
    rows = _unique(_read_jsonl([DATA / "sts" / "all.jsonl"]), lambda row: row["sentence1"] + " || " + row["sentence2"])
    by_score: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_score[min(int(row["score"]), 4)].append(row)
    splits: dict[str, list[dict]] = defaultdict(list)
    rng = random.Random(SEED)
    for score in sorted(by_score):
        group = by_score[score]
        rng.shuffle(group)
        for name, part in _cut(group, {"validation": 0.5, "test": 0.5}).items():
            splits[name].extend(part)
    for name, part in splits.items():
        rng.shuffle(part)
        _write_jsonl(DATA / "sts" / f"{name}.jsonl", part)


def split_paraphrase() -> None:
    """60/15/25 of the topics (not of the pairs; a larger test share for tighter intervals): a test pair's kitchen or weather words were never
    seen in training, so the classifier is scored on the paraphrase relation, not on the topic."""
    rows = _unique(_read_jsonl([DATA / "paraphrase" / "all.jsonl"]), lambda row: row["sentence1"] + " || " + row["sentence2"])
    topics = list(dict.fromkeys(row["topic"] for row in rows))
    random.Random(SEED).shuffle(topics)
    for name, part in _cut(topics, {"train": 0.60, "validation": 0.15, "test": 0.25}).items():
        chosen = set(part)
        _write_jsonl(DATA / "paraphrase" / f"{name}.jsonl",
                     [{key: row[key] for key in ("sentence1", "sentence2", "label")} for row in rows if row["topic"] in chosen])


QA_OCCURRENCE = re.compile(r"^(.*) #(\d+)$")


def _corpus_documents() -> list[str]:
    """Every corpus document as one paragraph (its sentence lines joined by spaces)."""
    return [" ".join(block.split("\n")) for path in sorted((DATA / "corpus" / "parts").glob("*.txt"))
            for block in path.read_text(encoding="utf-8").split("\n\n") if block.strip()]


def _qa_row(where: str, title: str, context: str, line: str, rows: list[dict]) -> dict:
    """One `question => answer` line as a squad row; `answer #2` picks the answer's second occurrence."""
    question, answer = (part.strip() for part in line.split("=>", 1))
    occurrence = QA_OCCURRENCE.match(answer)
    answer, nth = (occurrence.group(1), int(occurrence.group(2))) if occurrence else (answer, 1)
    starts = [match.start() for match in re.finditer(re.escape(answer), context)]
    if len(starts) < nth or (len(starts) > 1 and not occurrence):
        raise ValueError(f"{where}: {answer!r} occurs {len(starts)} times in {title!r}"
                         + (" (add #n to choose one)" if starts else ""))
    number = sum(row["title"] == title for row in rows) + 1
    return {"id": f"{title.lower().replace(' ', '_')}-{number}", "title": title, "context": context,
            "question": question, "answers": {"text": [answer], "answer_start": [starts[nth - 1]]}}


def read_qa_sources() -> list[dict]:
    """Questions in the squad schema from qa/parts/*.txt.

    Source format: `## Title | first words of a corpus document` opens a document; each
    following line is `question => answer`, the answer copied verbatim from the document;
    `answer #2` picks its second occurrence where the text occurs more than once."""
    documents = _corpus_documents()
    rows: list[dict] = []
    title = context = ""
    for path in sorted((DATA / "qa" / "parts").glob("*.txt")):
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            where = f"{path.name}:{line_no}"
            if line.startswith("## "):
                title, prefix = (part.strip() for part in line[3:].split("|", 1))
                matches = [document for document in documents if document.startswith(prefix)]
                if len(matches) != 1:
                    raise ValueError(f"{where}: {len(matches)} corpus documents start with {prefix!r}")
                context = matches[0]
            elif "=>" in line:
                rows.append(_qa_row(where, title, context, line, rows))
            elif line.strip():
                raise ValueError(f"{where}: expected '## Title | document start' or 'question => answer'")
    return rows


def read_qa_drills() -> list[dict]:
    """Training-only questions from qa/drills.txt, in the squad schema.

    Short documents written for QA alone (not corpus documents, so notebook 03 never sees them), each
    holding several numbers or look-alike facts, with questions that ask for one of them: the skill
    notebook 08's `ask` demo needs on a paragraph dense with numbers. Source format: `## Title`, then
    `> the document` on one line, then `question => answer` lines as in qa/parts."""
    path = DATA / "qa" / "drills.txt"
    rows: list[dict] = []
    title = context = ""
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path.name}:{line_no}"
        if line.startswith("## "):
            title, context = line[3:].strip(), ""
        elif line.startswith("> "):
            context = line[2:].strip()
        elif "=>" in line and title and context:
            rows.append(_qa_row(where, title, context, line, rows))
        elif line.strip():
            raise ValueError(f"{where}: expected '## Title', '> document' or 'question => answer' after both")
    return rows


def split_qa() -> None:
    """60/20/20 of the documents (not of the questions), so no test paragraph is seen in training."""
    rows = read_qa_sources()
    titles = list(dict.fromkeys(row["title"] for row in rows))
    random.Random(SEED).shuffle(titles)
    for name, part in _cut(titles, {"train": 0.6, "validation": 0.2, "test": 0.2}).items():
        chosen = set(part)
        _write_jsonl(DATA / "qa" / f"{name}.jsonl", [row for row in rows if row["title"] in chosen])
    _write_jsonl(DATA / "qa" / "drills.jsonl", read_qa_drills())


def main() -> None:
    split_emotion()
    split_token_classification("ner")
    split_token_classification("bio_ner")
    split_corpus("corpus", sorted((DATA / "corpus" / "parts").glob("*.txt")))
    split_corpus("bio_corpus", [DATA / "bio_corpus" / "all.txt"])
    split_sts()
    split_paraphrase()
    split_qa()


if __name__ == "__main__":
    main()
