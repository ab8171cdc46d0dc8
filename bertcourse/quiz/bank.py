"""Question banks: one YAML (or JSON) file per notebook, validated when loaded.

A bank lives in `bertcourse/quiz/banks/<notebook_id>.yaml`. It is checked twice: a JSON
Schema for shape (required fields, types, no unknown fields) and Python checks for meaning
(answer keys that match this bank's salt, exactly one correct option for single choice,
sealed explanations, registered compute functions). Any problem raises `QuizBankError`,
whose one-line message names the file and the question id, so a typo in a bank is fixed
in seconds instead of being read out of a traceback.

Banks are written by `bertcourse dev add-questions` (`bertcourse/tools/quiz_author.py`: the author's
workflow); the fields are:

    notebook: 01_tokenization      # must equal the file name
    title: Tokenization check
    salt: <32 hex>                 # random per bank; keys and sealed texts depend on it
    questions:
      - id: cls_token              # unique in the bank, [a-z0-9_]
        type: single | multiple | numeric | text | computed
        text: ...                  # computed: may use {arg} placeholders from `args`
        hint: ...
        explanation: sealed:...    # optional, shown after a correct answer
        choices:                   # single / multiple
          - {id: a, text: ..., key: <hex>, explanation: sealed:...}
        step: "1"                  # numeric: grid of accepted values
        tolerance: "0"             # numeric (shown to learners) / computed (used to grade)
        unit: layers               # numeric / computed, optional
        accept: [<hex>, ...]       # numeric: keys of grid points; text: keys of spellings
        compute: token_count       # computed: a function in computed.py
        args: {sentence: ...}      # computed: its keyword arguments
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from bertcourse.course.errors import CourseError

from . import keys
from .computed import REGISTRY
from .schema import SchemaCheck

BANKS_DIR = Path(__file__).resolve().parent / "banks"
BANK_SUFFIXES = (".yaml", ".json")
NOTEBOOK_ID = re.compile(r"^[0-9a-z][0-9a-z_]*$")


class QuizBankError(CourseError):
    """A bank file is missing or malformed; the message names the file and question."""


_ID = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_]*$", "maxLength": 64}
_TEXT = {"type": "string", "minLength": 1}
_KEY = {"type": "string", "pattern": f"^[0-9a-f]{{{keys.KEY_HEX_CHARS}}}$"}
_SEALED = {"type": "string", "pattern": f"^{keys.SEALED_PREFIX}"}
_DECIMAL = {"type": ["string", "number"], "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}

BANK_SCHEMA = SchemaCheck({
    "type": "object",
    "required": ["notebook", "title", "salt", "questions"],
    "additionalProperties": False,
    "properties": {
        "notebook": {"type": "string", "pattern": NOTEBOOK_ID.pattern},
        "title": _TEXT,
        "salt": {"type": "string", "pattern": "^[0-9a-f]{16,}$"},
        "questions": {"type": "array", "minItems": 1, "items": {"type": "object"}},
    },
})

_COMMON = {"id": _ID, "type": {"enum": ["single", "multiple", "numeric", "text", "computed"]},
           "text": _TEXT, "hint": _TEXT, "explanation": _SEALED}
_CHOICES = {
    "type": "array",
    "minItems": 2,
    "items": {
        "type": "object",
        "required": ["id", "text", "key"],
        "additionalProperties": False,
        "properties": {"id": _ID, "text": _TEXT, "key": _KEY, "explanation": _SEALED},
    },
}
_ACCEPT = {"type": "array", "minItems": 1, "maxItems": keys.MAX_GRID_POINTS, "items": _KEY}


def _question_schema(required: list[str], **specific: Any) -> SchemaCheck:
    return SchemaCheck({
        "type": "object",
        "required": ["id", "type", "text", "hint", *required],
        "additionalProperties": False,
        "properties": {**_COMMON, **specific},
    })


QUESTION_SCHEMAS: dict[str, SchemaCheck] = {
    "single": _question_schema(["choices"], choices=_CHOICES),
    "multiple": _question_schema(["choices"], choices=_CHOICES),
    "numeric": _question_schema(["step", "tolerance", "accept"], step=_DECIMAL,
                                tolerance=_DECIMAL, unit=_TEXT, accept=_ACCEPT),
    "text": _question_schema(["accept"], accept=_ACCEPT),
    "computed": _question_schema(["compute", "tolerance"], compute=_ID, args={"type": "object"},
                                 tolerance=_DECIMAL, unit=_TEXT),
}


@dataclass(frozen=True)
class Choice:
    """One option; `key` says (hashed) whether it is correct."""

    id: str
    text: str
    key: str
    explanation: str | None = None


@dataclass(frozen=True)
class Question:
    """A validated question; `salt` travels with it so grading needs nothing else."""

    id: str
    type: str
    text: str
    hint: str
    salt: str = field(repr=False)
    explanation: str | None = None
    choices: tuple[Choice, ...] = ()
    accept: frozenset[str] = frozenset()
    step: Decimal | None = None
    tolerance: Decimal | None = None
    unit: str | None = None
    compute: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def display_text(self) -> str:
        """The question as learners read it (computed questions fill in their `args`)."""
        return self.text.format_map(self.args) if self.type == "computed" else self.text

    @property
    def is_choice(self) -> bool:
        return self.type in ("single", "multiple")

    def is_correct_choice(self, choice: Choice) -> bool:
        return choice.key == keys.choice_key(self.salt, self.id, choice.id, True)

    def explanation_of(self, choice: Choice | None = None) -> str | None:
        """The unsealed explanation of the question, or of one of its choices."""
        sealed = self.explanation if choice is None else choice.explanation
        label = "" if choice is None else choice.id
        return None if sealed is None else keys.unseal(self.salt, self.id, label, sealed)


@dataclass(frozen=True)
class Bank:
    """All questions of one notebook's quiz."""

    notebook: str
    title: str
    salt: str
    questions: tuple[Question, ...]
    source: Path

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


def bank_path(notebook_id: str, banks_dir: Path = BANKS_DIR) -> Path:
    """The file holding `notebook_id`'s bank; raises QuizBankError if there is none."""
    if not NOTEBOOK_ID.match(notebook_id):
        raise QuizBankError(f"'{notebook_id}' is not a notebook id.",
                            "Use the notebook's file name without .ipynb, e.g. bc.take_quiz(\"01_tokenization\").")
    for suffix in BANK_SUFFIXES:
        path = banks_dir / f"{notebook_id}{suffix}"
        if path.is_file():
            return path
    available = ", ".join(available_banks(banks_dir)) or "none"
    raise QuizBankError(f"There is no quiz bank for notebook '{notebook_id}'.",
                        f"Available quizzes: {available}.")


def available_banks(banks_dir: Path = BANKS_DIR) -> list[str]:
    """Notebook ids that have a bank, in course order (file names sort by lesson number)."""
    return sorted(p.stem for p in banks_dir.iterdir() if p.suffix in BANK_SUFFIXES)


def load_bank(notebook_id: str, banks_dir: Path = BANKS_DIR) -> Bank:
    """Read and validate a notebook's bank."""
    return parse_bank(bank_path(notebook_id, banks_dir))


def parse_bank(path: Path) -> Bank:
    """Validate the bank file at `path`; every failure is a QuizBankError naming the place."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise QuizBankError(f"Quiz bank {path.name} cannot be read: {error}.") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise QuizBankError(f"Quiz bank {path.name} is not valid YAML{where}.",
                            "Fix the syntax at that line.") from None
    _check_schema(path, None, raw, BANK_SCHEMA)
    if raw["notebook"] != path.stem:
        _fail(path, None, f"'notebook: {raw['notebook']}' does not match the file name")
    questions = [_parse_question(path, raw["salt"], index, entry)
                 for index, entry in enumerate(raw["questions"])]
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            _fail(path, question.id, "the id is used by more than one question")
        seen.add(question.id)
    return Bank(raw["notebook"], raw["title"], raw["salt"], tuple(questions), path)


def _fail(path: Path, question_id: str | None, message: str) -> None:
    where = f"Quiz bank {path.name}" + (f", question '{question_id}'" if question_id else "")
    raise QuizBankError(f"{where}: {message}.",
                        "Correct the file, or re-create the question with "
                        "`bertcourse dev add-questions` (see its --help).")


def _check_schema(path: Path, question_id: str | None, value: Any, schema: SchemaCheck) -> None:
    problem = schema.problem(value)
    if problem is not None:
        _fail(path, question_id, problem)


def _parse_question(path: Path, salt: str, index: int, raw: dict[str, Any]) -> Question:
    question_id = raw.get("id") if isinstance(raw.get("id"), str) else f"#{index + 1}"
    kind = raw.get("type")
    if kind not in QUESTION_SCHEMAS:
        _fail(path, question_id, f"type must be one of {', '.join(QUESTION_SCHEMAS)}, not {kind!r}")
    _check_schema(path, question_id, raw, QUESTION_SCHEMAS[kind])
    question = Question(
        id=raw["id"], type=kind, text=raw["text"], hint=raw["hint"], salt=salt,
        explanation=raw.get("explanation"),
        choices=tuple(Choice(c["id"], c["text"], c["key"], c.get("explanation"))
                      for c in raw.get("choices", ())),
        accept=frozenset(raw.get("accept", ())),
        step=_decimal(raw.get("step")), tolerance=_decimal(raw.get("tolerance")),
        unit=raw.get("unit"), compute=raw.get("compute"), args=raw.get("args", {}),
    )
    problem = _semantic_problem(question)
    if problem:
        _fail(path, question.id, problem)
    return question


def _decimal(value: Any) -> Decimal | None:
    """Bank numbers as exact decimals; YAML may give `1` (int), `0.5` (float) or "0.5"."""
    return None if value is None else Decimal(str(value))


def _semantic_problem(question: Question) -> str | None:
    """What is wrong with a schema-valid question, or None."""
    try:
        for place in (None, *question.choices):
            question.explanation_of(place)
    except ValueError:
        return "an explanation is not sealed for this question (copy-pasted or edited by hand?)"
    if question.is_choice:
        return _choice_problem(question)
    if question.tolerance is not None and not (question.tolerance.is_finite() and question.tolerance >= 0):
        return "tolerance must be a number of at least 0"
    if question.step is not None and not (question.step.is_finite() and question.step > 0):
        return "step must be a number greater than 0"
    if question.type == "computed":
        return _computed_problem(question)
    return None


def _choice_problem(question: Question) -> str | None:
    ids = [c.id for c in question.choices]
    if len(set(ids)) != len(ids):
        return "two choices share an id"
    wrong = {c.id: keys.choice_key(question.salt, question.id, c.id, False) for c in question.choices}
    for choice in question.choices:
        if not question.is_correct_choice(choice) and choice.key != wrong[choice.id]:
            return f"choice '{choice.id}' has a key that matches neither 'correct' nor 'wrong'"
    correct = sum(map(question.is_correct_choice, question.choices))
    if question.type == "single" and correct != 1:
        return f"a single-choice question needs exactly one correct choice, this one has {correct}"
    if question.type == "multiple" and correct == 0:
        return "a multiple-select question needs at least one correct choice"
    return None


def _computed_problem(question: Question) -> str | None:
    function = REGISTRY.get(question.compute)
    if function is None:
        return f"compute: '{question.compute}' is not a function in bertcourse.quiz.computed"
    if set(question.args) != function.arguments:
        expected = ", ".join(sorted(function.arguments)) or "none"
        return f"args must be exactly the arguments of {function.name} ({expected})"
    try:
        _ = question.display_text
    except (KeyError, IndexError, ValueError) as error:
        return f"text has a placeholder that args do not fill ({error})"
    return None
