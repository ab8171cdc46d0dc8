"""`bertcourse dev add-questions`: turn plain question entries into a quiz bank's hashed form.

Committed banks must not contain answers in plain text (see `bertcourse/quiz/keys.py`), so authors write
questions in a plain *entry* file, keep it out of the repository, and let this tool add
them to a bank:

    bertcourse dev add-questions my_entries.yaml --bank 01_tokenization
    bertcourse dev add-questions fixed.yaml --bank 01_tokenization --replace
    bertcourse dev add-questions new.yaml --bank 05_ner --title "NER check"   # new bank

An entry file is a YAML list; each entry is one question in plain form:

    - id: base_layers                 # unique in the bank: [a-z0-9_]
      type: numeric                   # single | multiple | numeric | text | computed
      text: How many encoder layers does BERT-Base stack?
      hint: Count the Transformer blocks in the smaller model.
      explanation: BERT-Base has 12 layers; BERT-Large has 24.   # shown once correct
      answer: 12                      # numeric: the value ...
      tolerance: 0                    # ... any answer within ± tolerance is right ...
      step: 1                         # ... on this grid (see bertcourse/quiz/keys.py)
      unit: layers                    # optional, shown next to the input
    - id: cls_token
      type: single                    # multiple: any number of `correct: true`
      text: Which token starts every BERT input?
      hint: ...
      choices:
        - {text: "[CLS]", correct: true, explanation: It starts every sequence.}
        - {text: "[SEP]", explanation: It ends a segment.}
    - id: algorithm
      type: text
      text: ...
      hint: ...
      answers: [WordPiece, word piece]   # case and spacing do not matter
    - id: token_count
      type: computed                  # the answer comes from the learner's live objects
      text: How many tokens does `tokenizer` produce for "{sentence}"?
      hint: ...
      compute: token_count            # a function in bertcourse/quiz/computed.py
      args: {sentence: Hello world.}
      tolerance: 0

Question text, hints and choice texts stay plain in the bank and may be edited there
directly; changing an answer or an explanation means re-adding the entry with --replace.
The tool validates each entry, and then the whole bank with the loader's own checks,
before it writes anything.

Room: tools (author command). The quiz engine never imports it: banks are read by `quiz/bank.py`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import string
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from bertcourse.course.errors import CourseError
from bertcourse.quiz import keys
from bertcourse.quiz.bank import BANKS_DIR, NOTEBOOK_ID, parse_bank
from bertcourse.quiz.schema import SchemaCheck


class AuthoringError(CourseError):
    """An entry file or command line that cannot be turned into a bank."""


_TEXT = {"type": "string", "minLength": 1}
_NUMBER = {"type": ["number", "string"], "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
_PLAIN_CHOICE = {
    "type": "object", "required": ["text"], "additionalProperties": False,
    "properties": {"id": {"type": "string", "pattern": "^[a-z0-9_]+$"}, "text": _TEXT,
                   "correct": {"type": "boolean"}, "explanation": _TEXT},
}
_BY_TYPE: dict[str, tuple[list[str], dict[str, Any]]] = {
    "single": (["choices"], {"choices": {"type": "array", "minItems": 2, "items": _PLAIN_CHOICE}}),
    "multiple": (["choices"], {"choices": {"type": "array", "minItems": 2, "items": _PLAIN_CHOICE}}),
    "numeric": (["answer", "tolerance", "step"],
                {"answer": _NUMBER, "tolerance": _NUMBER, "step": _NUMBER, "unit": _TEXT}),
    "text": (["answers"], {"answers": {"type": "array", "minItems": 1, "items": _TEXT}}),
    "computed": (["compute", "tolerance"],
                 {"compute": _TEXT, "args": {"type": "object"}, "tolerance": _NUMBER, "unit": _TEXT}),
}


ENTRY_SCHEMAS = {
    kind: SchemaCheck({
        "type": "object",
        "required": ["id", "type", "text", "hint", *required],
        "additionalProperties": False,
        "properties": {"id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_]*$"},
                       "type": {"const": kind}, "text": _TEXT, "hint": _TEXT,
                       "explanation": _TEXT, **specific},
    })
    for kind, (required, specific) in _BY_TYPE.items()
}


def hash_entry(salt: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The bank form of one plain entry: answers hashed, explanations sealed."""
    kind = entry.get("type")
    name = entry.get("id", "(no id)")
    if kind not in _BY_TYPE:
        raise AuthoringError(f"Entry '{name}': type must be one of {', '.join(_BY_TYPE)}.")
    problem = ENTRY_SCHEMAS[kind].problem(entry)
    if problem is not None:
        raise AuthoringError(f"Entry '{name}': {problem}.")
    qid = entry["id"]
    out: dict[str, Any] = {"id": qid, "type": kind, "text": entry["text"], "hint": entry["hint"]}
    if "explanation" in entry:
        out["explanation"] = keys.seal(salt, qid, "", entry["explanation"])
    if kind in ("single", "multiple"):
        # Authors tend to write the right option first; shuffle so the bank's order (and
        # the letters given as ids) say nothing. Learners see their own order anyway.
        choices = secrets.SystemRandom().sample(entry["choices"], len(entry["choices"]))
        out["choices"] = [_hash_choice(salt, qid, index, choice) for index, choice in enumerate(choices)]
    elif kind == "numeric":
        out.update(_hash_numeric(salt, qid, entry))
    elif kind == "text":
        out["accept"] = sorted({keys.text_key(salt, qid, answer) for answer in entry["answers"]})
    else:
        out.update({k: entry[k] for k in ("compute", "args", "unit") if k in entry})
        out["tolerance"] = str(Decimal(str(entry["tolerance"])))
    return out


def _hash_choice(salt: str, qid: str, index: int, choice: dict[str, Any]) -> dict[str, Any]:
    cid = choice.get("id", string.ascii_lowercase[index])
    out = {"id": cid, "text": choice["text"],
           "key": keys.choice_key(salt, qid, cid, choice.get("correct", False))}
    if "explanation" in choice:
        out["explanation"] = keys.seal(salt, qid, cid, choice["explanation"])
    return out


def _hash_numeric(salt: str, qid: str, entry: dict[str, Any]) -> dict[str, Any]:
    answer, tolerance, step = (Decimal(str(entry[k])) for k in ("answer", "tolerance", "step"))
    if step <= 0 or tolerance < 0:
        raise AuthoringError(f"Entry '{qid}': step must be > 0 and tolerance >= 0.")
    grid = keys.grid_range(answer, tolerance, step)
    if not 0 < len(grid) <= keys.MAX_GRID_POINTS:
        raise AuthoringError(f"Entry '{qid}': the tolerance covers {len(grid)} grid points; it must "
                             f"cover 1 to {keys.MAX_GRID_POINTS}.", "Choose a coarser or finer step.")
    if max(abs(grid.start), abs(grid.stop - 1)) > 10**keys.MAX_GRID_DIGITS:
        raise AuthoringError(f"Entry '{qid}': the answer is more than 10**{keys.MAX_GRID_DIGITS} "
                             "steps from zero, beyond what grading accepts.", "Choose a coarser step.")
    out = {"step": str(step), "tolerance": str(tolerance),
           "accept": sorted(keys.numeric_key(salt, qid, k) for k in grid)}
    if "unit" in entry:
        out["unit"] = entry["unit"]
    return out


def add_entries(entries_file: Path, notebook: str, *, title: str | None = None,
                replace: bool = False, banks_dir: Path = BANKS_DIR) -> Path:
    """Add (or with `replace`, overwrite) the entries of `entries_file` in a bank."""
    if not NOTEBOOK_ID.match(notebook):
        raise AuthoringError(f"'{notebook}' is not a notebook id (use e.g. 01_tokenization).")
    path = banks_dir / f"{notebook}.yaml"
    if path.exists():
        bank = yaml.safe_load(path.read_text(encoding="utf-8"))
        bank["title"] = title or bank["title"]
    elif title:
        bank = {"notebook": notebook, "title": title, "salt": secrets.token_hex(16), "questions": []}
    else:
        raise AuthoringError(f"There is no bank {path.name} yet.", "Give --title to create it.")
    try:
        entries = yaml.safe_load(entries_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise AuthoringError(f"Cannot read entries from {entries_file}: {error}") from None
    if not isinstance(entries, list):
        raise AuthoringError(f"{entries_file} must contain a YAML list of questions.")
    questions = bank["questions"]
    for entry in entries:
        hashed = hash_entry(bank["salt"], entry if isinstance(entry, dict) else {})
        position = next((i for i, q in enumerate(questions) if q["id"] == hashed["id"]), None)
        if position is None:
            questions.append(hashed)
        elif replace:
            questions[position] = hashed
        else:
            raise AuthoringError(f"Question '{hashed['id']}' is already in {path.name}.",
                                 "Use --replace to overwrite it, or pick another id.")
    _write_validated(bank, path)
    return path


def _write_validated(bank: dict[str, Any], path: Path) -> None:
    """Write through a temporary file that must pass the bank loader first, so a failed
    run never leaves a broken bank behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(bank, sort_keys=False, allow_unicode=True, width=100)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        candidate = Path(scratch) / path.name
        candidate.write_text(text, encoding="utf-8")
        parse_bank(candidate)
        os.replace(candidate, path)


def register_quiz_author_command(commands: argparse._SubParsersAction) -> None:
    """Add `add-questions` under `bertcourse dev`."""
    command = commands.add_parser("add-questions", help="add plain question entries to a quiz bank, hashing "
                                                        "answers and sealing explanations",
                                  description="Add plain question entries to a quiz bank, hashing answers and "
                                              "sealing explanations (the entry format: bertcourse/tools/quiz_author.py).")
    command.add_argument("entries", type=Path, help="YAML list of plain entries (see module docs)")
    command.add_argument("--bank", required=True, help="notebook id, e.g. 01_tokenization")
    command.add_argument("--title", help="quiz title (required when creating a bank)")
    command.add_argument("--replace", action="store_true", help="overwrite questions with the same id")
    command.add_argument("--banks-dir", type=Path, default=BANKS_DIR,
                         help="folder of banks (default: the package's banks/)")
    command.set_defaults(func=_add_questions_command)


def _add_questions_command(args: argparse.Namespace) -> int:
    """A bad entry or bank is a `CourseError`, which `bertcourse` prints in one line (exit 2)."""
    path = add_entries(args.entries, args.bank, title=args.title, replace=args.replace, banks_dir=args.banks_dir)
    print(f"{path.name}: {len(parse_bank(path).questions)} questions")
    return 0
