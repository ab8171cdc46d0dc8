"""Grading a learner's response against a question's hashed key.

Grading is a pure function of (question, response[, computed expected value]) so the
widget, a restored session and the instructor report (which re-grades untrusted exports)
all agree. A response is a small JSON-able dict, which is also what the progress database
stores:

    single:   {"choice": "b"}
    multiple: {"choices": ["a", "c"]}
    numeric, text, computed: {"value": "12"}   (the learner's input as typed)

Feedback always states the verdict in words and with a symbol (never colour alone).
Multiple-select shows partial credit but counts as correct only when every option is right.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import keys
from .bank import Question

CORRECT = "✓ Correct"
INCORRECT = "✗ Incorrect"
PARTIAL = "✗ Not quite"
_FORM_NOTE = re.compile(r"\(([^()]+)\)\s*$")  # "... (Type it with its brackets.)"
_UNIT_SCALES = {"thousand": Decimal(10) ** 3, "million": Decimal(10) ** 6, "billion": Decimal(10) ** 9}


class InvalidResponse(ValueError):
    """The response cannot be graded (nothing chosen, not a number, unknown option);
    the message is written for the learner."""


@dataclass(frozen=True)
class Grade:
    """The outcome of one check: all-or-nothing `correct`, partial `credit` in [0, 1]."""

    correct: bool
    credit: float
    verdict: str
    explanations: tuple[str, ...]


def grade(question: Question, response: Mapping[str, Any], expected: float | None = None) -> Grade:
    """Grade `response`; `expected` is the live value of a computed question."""
    if question.is_choice:
        return _grade_choices(question, response)
    value = _value(response)
    if question.type == "text":
        correct = keys.text_key(question.salt, question.id, value) in question.accept
        if correct:
            return _outcome(question, True, "")
        return _outcome(question, False, f": “{value.strip()}” is not an accepted answer",
                        (_expected_form(question),))
    number = _number_in_unit(value, question.unit)
    if question.type == "numeric":
        index = keys.grid_index(number, question.step)  # None: far out of range, so wrong
        correct = index is not None and keys.numeric_key(question.salt, question.id, index) in question.accept
        return _outcome(question, correct, "" if correct else f": {number} is {_off_by(question)}")
    if expected is None:
        raise InvalidResponse("This question's answer has to be computed from the notebook first.")
    correct = keys.within(number, Decimal(repr(expected)), question.tolerance)
    shown = f"{expected:g}" if question.tolerance == 0 else f"{expected:.4g}"
    detail = f": your notebook computes {shown}" if correct else f": {number} is {_off_by(question)}"
    return _outcome(question, correct, detail)


def _number_in_unit(value: str, unit: str | None) -> Decimal:
    """The learner's number in the question's unit: "340", "340 million" and "340M" are all
    340 for a question asked in millions; a K/M/B suffix elsewhere scales the number."""
    text = value.strip().removesuffix(unit or "").strip()
    number = keys.parse_number(text)
    if number is None:
        raise InvalidResponse(f"Please enter a number ({keys.NUMBER_FORMS}). Commas may only separate "
                              "groups of three digits; K, M and B mean thousand, million and billion.")
    scale = _UNIT_SCALES.get(unit or "")
    if scale is not None and text[-1:].casefold() in keys.SCALE_SUFFIXES:
        number = keys.WIDE.divide(number, scale)
    return number


def describe(question: Question, response: Mapping[str, Any]) -> str:
    """A response in words (choice texts rather than ids), for reports and restored views."""
    if question.is_choice:
        chosen = set(_chosen_ids(question, response))
        return "; ".join(c.text for c in question.choices if c.id in chosen) or "(nothing)"
    return _value(response).strip()


def _expected_form(question: Question) -> str:
    """Why a short answer was refused, without giving the answer away: how answers are
    compared, and the form the question asks for (its closing parenthesis, if it has one)."""
    reminder = "Short answers are compared word for word, ignoring only capital letters and spaces"
    form = _FORM_NOTE.search(question.text)
    if form:
        return f"{reminder}. Check the spelling and the form the question asks for: {form[1]}"
    return f"{reminder}: check the spelling, or use the hint."


def _off_by(question: Question) -> str:
    if question.tolerance == 0:
        return "not the answer"
    unit = f" {question.unit}" if question.unit else ""
    return f"not within ±{question.tolerance}{unit} of the answer"


def _value(response: Mapping[str, Any]) -> str:
    value = response.get("value")
    if not isinstance(value, str) or not value.strip():
        raise InvalidResponse("Please type an answer first.")
    return value


def _chosen_ids(question: Question, response: Mapping[str, Any]) -> list[str]:
    raw = [response.get("choice")] if question.type == "single" else response.get("choices")
    if not isinstance(raw, list) or not raw or raw == [None]:
        raise InvalidResponse("Please choose an option first.")
    known = {c.id for c in question.choices}
    if not all(isinstance(choice, str) and choice in known for choice in raw):
        raise InvalidResponse("That option is not part of this question.")
    return raw


def _grade_choices(question: Question, response: Mapping[str, Any]) -> Grade:
    chosen = set(_chosen_ids(question, response))
    right = {c.id for c in question.choices if question.is_correct_choice(c)}
    hits, false = len(chosen & right), len(chosen - right)
    correct = chosen == right
    explanations = tuple(filter(None, (question.explanation_of(c) for c in question.choices
                                       if c.id in chosen)))
    if question.type == "single":
        return _outcome(question, correct, "", explanations)
    credit = max(0.0, (hits - false) / len(right))
    if correct:
        detail = f": you chose all {len(right)} right options and no wrong one"
        return _outcome(question, True, detail, explanations)
    counts = (f": {hits} of {len(right)} right options chosen, {false} wrong "
              f"option{'s' if false != 1 else ''} chosen")
    rule = "The question counts only when every option is right"
    if credit == 0:  # nothing to credit: a plain "incorrect", not "partial credit 0%"
        return Grade(False, 0.0, f"{INCORRECT}{counts}. {rule}.", explanations)
    return Grade(False, credit, f"{PARTIAL}{counts} — partial credit {credit:.0%}. {rule}.", explanations)


def _outcome(question: Question, correct: bool, detail: str,
             explanations: tuple[str, ...] = ()) -> Grade:
    """Assemble a Grade; the question's own explanation is revealed only once it is right,
    so "Try again" stays meaningful."""
    if correct and (general := question.explanation_of()):
        explanations = (*explanations, general)
    verdict = (CORRECT if correct else INCORRECT) + detail + "."
    return Grade(correct, 1.0 if correct else 0.0, verdict, explanations)
