"""Answer keys that are checkable but not readable at a glance.

Closed questions (single/multiple choice, numeric, short text) never store their answer in
plain text. A bank holds a random `salt`; an answer key is a truncated SHA-256 of
(salt, question id, canonical answer), so a learner who opens the bank file or the notebook
JSON sees hex digests, and grading only needs to hash the learner's canonical answer and
compare. Explanations would give answers away too ("Yes: Base has 12 layers"), so they are
*sealed*: XOR-ed with a SHA-256 keystream derived from the same inputs and base64-encoded.

This is deliberately obfuscation, not security: the salt sits next to the keys, so anyone
willing to run code can hash every option (or every small number) and find the answer.
The goal the course sets is "not in plain sight", and that is what this gives.

How each question type is keyed (see `author.py` for the authoring side):
- choices: every choice carries `key = H(salt, qid, "choice:<id>:correct" | "choice:<id>:wrong")`.
  One key per choice means partial credit for multiple-select can be computed per option,
  and the number of correct options is not revealed by counting keys.
- numeric with tolerance: the bank declares a grid `step` (e.g. "1" or "0.1") and stores
  `H(salt, qid, "num:<k>")` for every grid index k with k*step inside [answer - tolerance,
  answer + tolerance]. A learner's number is rounded to the nearest grid point and hashed.
  The accepted set is therefore exact up to half a grid step, which is why authors pick a
  step at least as fine as the precision they care about. Keys are sorted so their order
  does not reveal where the centre lies.
- short text: `H(salt, qid, "text:<normalised>")` for every accepted spelling, normalised with
  `normalise_text` (Unicode NFKC, case-folded, whitespace collapsed).
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from decimal import MAX_EMAX, MIN_EMIN, ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

KEY_HEX_CHARS = 32  # 128 bits: collisions are not a concern, and banks stay readable
SEALED_PREFIX = "sealed:"
MAX_GRID_POINTS = 10_001  # bounds the key list a numeric question may carry
MAX_GRID_DIGITS = 15  # grid indices stay within ±10**15 (authoring refuses answers beyond)

_WHITESPACE = re.compile(r"\s+")


def answer_key(salt: str, question_id: str, canonical: str) -> str:
    """The salted key of one canonical answer string for one question."""
    digest = hashlib.sha256(f"{salt}\x1f{question_id}\x1f{canonical}".encode()).hexdigest()
    return digest[:KEY_HEX_CHARS]


def choice_key(salt: str, question_id: str, choice_id: str, correct: bool) -> str:
    """The key a choice carries; grading recomputes it for `correct=True` and compares."""
    verdict = "correct" if correct else "wrong"
    return answer_key(salt, question_id, f"choice:{choice_id}:{verdict}")


def numeric_key(salt: str, question_id: str, grid_index: int) -> str:
    """The key of the grid point `grid_index * step` of a numeric question."""
    return answer_key(salt, question_id, f"num:{grid_index}")


def text_key(salt: str, question_id: str, answer: str) -> str:
    """The key of one accepted short-text answer (normalised first)."""
    return answer_key(salt, question_id, f"text:{normalise_text(answer)}")


def normalise_text(answer: str) -> str:
    """Case- and whitespace-insensitive form, so "  WordPiece " matches "wordpiece"."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", answer)).strip().casefold()


SCALE_SUFFIXES = {"k": Decimal(10) ** 3, "m": Decimal(10) ** 6, "b": Decimal(10) ** 9}
NUMBER_FORMS = "for example 12, 0.5, 1e3, 30,522, 1.2K, 340M or 3B"
_SUFFIXED = re.compile(r"([^eE]*[\d.])\s*([kKmMbB])")  # "340M", "1.2 k"; not "1e3K"
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")  # 30,522 and 1,024.5, never 1,5
# Arithmetic on a typed number runs with Decimal's widest exponents: the default context stops
# at 10**999999, so "1e1000000" (or a million nines with an M) raised a raw decimal.Overflow.
WIDE = Context(Emax=MAX_EMAX, Emin=MIN_EMIN)


def parse_number(text: str) -> Decimal | None:
    """A finite decimal from learner input, else None.

    Accepts the forms the notebooks print: "12", "0.5", "1e3", "1_000", thousands separators
    ("30,522", only between groups of three digits, so the decimal comma of "1,5" is refused
    rather than misread as 15) and a K, M or B suffix for thousand, million, billion ("340M",
    "1.2K", "3B", any case, not combined with an exponent).
    """
    cleaned = text.strip().replace("_", "")
    scale = None
    if suffixed := _SUFFIXED.fullmatch(cleaned):
        cleaned, scale = suffixed[1], SCALE_SUFFIXES[suffixed[2].casefold()]
    if "," in cleaned:
        if not _GROUPED.fullmatch(cleaned):
            return None
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return WIDE.multiply(value, scale) if scale is not None else value


def grid_index(value: Decimal, step: Decimal) -> int | None:
    """Index of the grid point nearest to `value` (ties to even, so it is deterministic), or
    None beyond ±10**MAX_GRID_DIGITS steps, where no bank has a key. Checked on the exponent
    before dividing: a typed 1e999999 would otherwise cost a minute of CPU and end in a
    number too long to print into a key."""
    if value.adjusted() - step.adjusted() > MAX_GRID_DIGITS:
        return None
    index = int((value / step).to_integral_value(rounding=ROUND_HALF_EVEN))
    return index if abs(index) <= 10**MAX_GRID_DIGITS else None


def within(value: Decimal, target: Decimal, tolerance: Decimal) -> bool:
    """Whether |value - target| <= tolerance, by comparison only: `target` and `tolerance` are
    a bank's (small), `value` is typed and may be 1e1000000, whose subtraction would overflow."""
    return WIDE.subtract(target, tolerance) <= value <= WIDE.add(target, tolerance)


def grid_range(answer: Decimal, tolerance: Decimal, step: Decimal) -> range:
    """All grid indices whose point lies within `tolerance` of `answer` (inclusive)."""
    low = ((answer - tolerance) / step).to_integral_value(rounding=ROUND_CEILING)
    high = ((answer + tolerance) / step).to_integral_value(rounding=ROUND_FLOOR)
    return range(int(low), int(high) + 1)


def _keystream(salt: str, question_id: str, label: str, length: int) -> bytes:
    blocks = []
    counter = 0
    while sum(map(len, blocks)) < length:
        seed = f"{salt}\x1f{question_id}\x1f{label}\x1f{counter}".encode()
        blocks.append(hashlib.sha256(seed).digest())
        counter += 1
    return b"".join(blocks)[:length]


def seal(salt: str, question_id: str, label: str, text: str) -> str:
    """Hide `text` (an explanation) from casual reading; `unseal` restores it."""
    data = text.encode()
    stream = _keystream(salt, question_id, label, len(data))
    return SEALED_PREFIX + base64.b64encode(bytes(a ^ b for a, b in zip(data, stream, strict=True))).decode()


def unseal(salt: str, question_id: str, label: str, sealed: str) -> str:
    """Inverse of `seal`; raises ValueError when the text was not sealed for this place."""
    if not sealed.startswith(SEALED_PREFIX):
        raise ValueError("not a sealed text")
    data = base64.b64decode(sealed[len(SEALED_PREFIX) :], validate=True)
    stream = _keystream(salt, question_id, label, len(data))
    return bytes(a ^ b for a, b in zip(data, stream, strict=True)).decode()
