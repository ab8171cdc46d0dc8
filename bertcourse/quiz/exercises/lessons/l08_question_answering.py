"""Lesson 08's exercises: the best legal answer span of one window, and the overlapping windows
a long context is cut into.

The notebook's `best_answer` pairs only the n best starts with the n best ends, over `Window`
objects; the exercise asks for the exact search over every legal pair of one window, the rules
(inside the context, end not before start, at most `max_answer_length` tokens) being the point.
The windows are computed inside the tokenizer (`return_overflowing_tokens`, `stride`); the
exercise is the arithmetic it does. The reference solutions are sealed.

Room: quiz.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from bertcourse.quiz.exercises.spec import Call, Exercise, Test, describe

# ------------------------------------------------------------------------------- best span

SPAN_INTRO = """### Exercise: the best legal span, exactly

`best_answer` above pairs only the `n_best` highest starts with the `n_best` highest ends, a
shortcut that is almost always right. Write the exact search for one window: among **all**
pairs (start, end) that are legal, the one with the highest start logit + end logit.
"""

SPAN_STUB = '''import numpy as np


def best_span(start_logits, end_logits, context_mask, max_answer_length):
    """The (start, end) token positions, both inclusive, of the highest-scoring legal span.

    start_logits, end_logits: one float per token of the window (NumPy arrays);
    context_mask: one bool per token, True for context tokens (False for [CLS], the question,
                  [SEP] and padding);
    a span is legal when start and end are both context tokens, end >= start, and it has at
    most max_answer_length tokens (end - start + 1 <= max_answer_length).
    Score = start_logits[start] + end_logits[end]. Return (start, end) as two ints (any one of
    the best if several tie), or None if no span is legal (no context token).
    """
    raise NotImplementedError("write the body of best_span")
'''


def _span_score(inputs: Mapping[str, Any], span: tuple[int, int]) -> float:
    return float(inputs["start_logits"][span[0]] + inputs["end_logits"][span[1]])


def _illegal(inputs: Mapping[str, Any], start: int, end: int) -> str | None:
    """Why (start, end) is not a legal span, or None."""
    size, mask, longest = len(inputs["start_logits"]), inputs["context_mask"], inputs["max_answer_length"]
    if not (0 <= start < size and 0 <= end < size):
        return f"position outside the window of {size} tokens"
    if end < start:
        return "the end comes before the start: pick the best pair, not the best start and the best end apart"
    if not mask[start] or not mask[end]:
        token = start if not mask[start] else end
        return f"token {token} is not a context token ([CLS], question, [SEP] or padding)"
    if end - start + 1 > longest:
        return f"{end - start + 1} tokens, longer than max_answer_length = {longest}"
    return None


def _span_judge(got: Any, call: Call) -> str | None:
    expected = call.expected
    if got is None or expected is None:
        if got is expected:
            return None
        return f"expected {expected}, got None." if got is None else (
            f"no token is context, so no span is legal: expected None, got {describe(got)}.")
    if not isinstance(got, (tuple, list)) or len(got) != 2 or not all(
            isinstance(value, numbers.Integral) and not isinstance(value, bool) for value in got):
        return f"expected a pair of ints (start, end), got {describe(got)}."
    start, end = int(got[0]), int(got[1])
    if (start, end) == tuple(expected):
        return None
    problem = _illegal(call.inputs, start, end)
    if problem is None and abs(_span_score(call.inputs, (start, end)) - _span_score(call.inputs, expected)) < 1e-6:
        return None                                       # a tie with the best span is just as good
    best = f"the best legal span is {tuple(expected)} with score {_span_score(call.inputs, expected):.3f}"
    if problem is not None:
        return f"your span ({start}, {end}) is not legal: {problem}; {best}."
    return f"your span ({start}, {end}) scores {_span_score(call.inputs, (start, end)):.3f}, but {best}."


def _window(start: list[float], end: list[float], mask: list[int], longest: int) -> dict[str, Any]:
    return {"start_logits": np.array(start, dtype=np.float32), "end_logits": np.array(end, dtype=np.float32),
            "context_mask": np.array(mask, dtype=bool), "max_answer_length": longest}


def _random_window(seed: int, tokens: int, question: int, longest: int) -> dict[str, Any]:
    """[CLS] question [SEP] context [SEP] padding, with random logits (fixed seed)."""
    rng = np.random.default_rng(seed)
    padding = int(rng.integers(0, 6))
    mask = np.zeros(tokens, dtype=bool)
    mask[question + 2: tokens - padding - 1] = True
    return {"start_logits": rng.normal(size=tokens).astype(np.float32) * 3,
            "end_logits": rng.normal(size=tokens).astype(np.float32) * 3,
            "context_mask": mask, "max_answer_length": longest}


def _show_window(inputs: Mapping[str, Any]) -> str:
    size = len(inputs["start_logits"])
    if size > 12:
        context = np.flatnonzero(inputs["context_mask"])
        where = f"context tokens {context[0]}..{context[-1]}" if len(context) else "no context token"
        return f"a window of {size} tokens ({where}), max_answer_length={inputs['max_answer_length']}"
    return (f"start_logits={np.round(inputs['start_logits'], 2).tolist()}, "
            f"end_logits={np.round(inputs['end_logits'], 2).tolist()}, "
            f"context_mask={[int(flag) for flag in inputs['context_mask']]}, "
            f"max_answer_length={inputs['max_answer_length']}")


SPAN = Exercise(
    id="08_best_span",
    anchor="finetuned_windows = qa.predict_windows(",
    intro=SPAN_INTRO,
    stub=SPAN_STUB,
    hints=("Two nested loops: every context start, then every end from start to start + max_answer_length - 1 "
           "that is a context token; keep the best score.",
           "The best start and the best end taken separately can form an illegal pair (end before start, "
           "or too long); only pairs are scored."),
    tests=(
        Test(name="fixed: the best end comes before the best start", kind="fixed",
             inputs=lambda: _window([0, 0, 0, 1, 2, 5, 1], [0, 0, 0, 3, 6, 1, 2], [0, 0, 0, 1, 1, 1, 1], 5),
             judge=_span_judge, show=_show_window,
             hint="Argmax of the starts is 5 and of the ends 4: (5, 4) is no span. Score every pair with "
                  "end >= start."),
        Test(name="fixed: the question is not an answer", kind="fixed",
             inputs=lambda: _window([9, 8, 8, 0, 1, 2, 0], [9, 8, 8, 1, 0, 3, 0], [0, 0, 0, 1, 1, 1, 0], 10),
             judge=_span_judge, show=_show_window,
             hint="[CLS] (token 0) and the question (1-2) score highest but are not context: skip every "
                  "position whose context_mask is False."),
        Test(name="edge: a span of exactly max_answer_length tokens", kind="edge",
             inputs=lambda: _window([0, 5, 0, 0, 0, 0], [0, 0, 0, 4, 0, 0], [0, 1, 1, 1, 1, 0], 3),
             judge=_span_judge, show=_show_window,
             hint="(1, 3) has 3 tokens: end - start + 1 = 3 <= max_answer_length, so it is allowed."),
        Test(name="edge: one token longer than allowed", kind="edge",
             inputs=lambda: _window([0, 5, 0, 0, 0, 0], [0, 0.5, 0, 1, 4, 1], [0, 1, 1, 1, 1, 1], 3),
             judge=_span_judge, show=_show_window,
             hint="(1, 4) has 4 tokens, one too many for max_answer_length = 3; count end - start + 1."),
        Test(name="edge: a single context token", kind="edge",
             inputs=lambda: _window([3, 1, 0, 2], [3, 0, 1, 0], [0, 0, 1, 0], 30),
             judge=_span_judge, show=_show_window, hint="Only (2, 2) is legal."),
        Test(name="edge: no context token", kind="edge",
             inputs=lambda: _window([1, 2, 3], [3, 2, 1], [0, 0, 0], 30),
             judge=_span_judge, show=_show_window, hint="No legal span at all: return None."),
        *(Test(name=f"property: a random window of {tokens} tokens (seed {seed})", kind="property",
               inputs=lambda seed=seed, tokens=tokens, question=question, longest=longest:
               _random_window(seed, tokens, question, longest),
               judge=_span_judge, show=_show_window,
               hint="Compare your pair with the best legal one: which rule does yours break, or which pair "
                    "did your search not visit?")
          for seed, tokens, question, longest in ((1, 60, 8, 5), (2, 160, 12, 30))),
    ),
)

# ------------------------------------------------------------------------------------ windows

WINDOWS_INTRO = """### Exercise: where the windows fall

`encode_windows` lets the tokenizer cut a long context into windows (`return_overflowing_tokens`,
`stride`). Compute where they fall yourself: which context tokens each window holds, given how
many fit next to the question and how many consecutive windows share.
"""

WINDOWS_STUB = '''def context_windows(n_tokens, room, stride):
    """The context tokens of each window, as (start, end) pairs, end exclusive.

    n_tokens >= 1 context tokens; `room` of them fit in one window (what max_length leaves after
    the question and the three special tokens); consecutive windows share `stride` tokens,
    0 <= stride < room. The first window starts at token 0, each next one starts room - stride
    tokens later, and the last window is the first that reaches the end of the context; a
    window never runs past it (end <= n_tokens). This is what the tokenizer does with
    truncation="only_second", return_overflowing_tokens=True and stride.
    """
    raise NotImplementedError("write the body of context_windows")
'''


def _windows_judge(got: Any, call: Call) -> str | None:
    expected = call.expected
    try:
        windows = [(int(start), int(end)) for start, end in got]
    except (TypeError, ValueError):
        return f"expected a list of (start, end) pairs such as [(0, 33), (25, 58)], got {describe(got)}."
    if windows == expected:
        return None
    message = f"expected {expected}, got {windows}"
    size, room = call.inputs["n_tokens"], call.inputs["room"]
    if any(end > size for _, end in windows):
        message += f": a window ends past the context's last token ({size})"
    elif any(end - start > room for start, end in windows):
        message += f": a window holds more than room = {room} tokens"
    elif len(windows) > len(expected) and windows[: len(expected)] == expected:
        message += ": you went on after a window had already reached the end"
    return message + "."


def _sizes(n_tokens: int, room: int, stride: int) -> dict[str, int]:
    return {"n_tokens": n_tokens, "room": room, "stride": stride}


WINDOWS = Exercise(
    id="08_context_windows",
    anchor="def length_of(row):",
    intro=WINDOWS_INTRO,
    stub=WINDOWS_STUB,
    hints=("`stride` is the overlap, not the step: each window starts room - stride tokens after the previous.",
           "Loop: end = min(start + room, n_tokens); record (start, end); stop as soon as end == n_tokens."),
    tests=(
        Test(name="fixed: 120 tokens, room 33, stride 8", kind="fixed", inputs=lambda: _sizes(120, 33, 8),
             judge=_windows_judge,
             hint="Steps of 33 - 8 = 25: (0, 33), (25, 58), (50, 83), (75, 108), (100, 120)."),
        Test(name="fixed: no overlap", kind="fixed", inputs=lambda: _sizes(120, 57, 0), judge=_windows_judge,
             hint="stride 0: the windows just tile the context, (0, 57), (57, 114), (114, 120)."),
        Test(name="edge: a short context fits in one window", kind="edge", inputs=lambda: _sizes(20, 33, 8),
             judge=_windows_judge, hint="20 tokens fit in a room of 33: one window (0, 20)."),
        Test(name="edge: a context exactly one window long", kind="edge", inputs=lambda: _sizes(33, 33, 8),
             judge=_windows_judge, hint="The first window already reaches the end: no second window."),
        Test(name="edge: one token too many", kind="edge", inputs=lambda: _sizes(34, 33, 8),
             judge=_windows_judge,
             hint="The second window starts 25 tokens on and holds the rest: (25, 34). It does not start at "
                  "n_tokens - room."),
        Test(name="edge: the last window ends exactly at the end", kind="edge", inputs=lambda: _sizes(83, 33, 8),
             judge=_windows_judge,
             hint="(50, 83) reaches the end: stop there, no window (75, 83) inside it."),
        Test(name="edge: a one-token context", kind="edge", inputs=lambda: _sizes(1, 10, 3),
             judge=_windows_judge, hint="One window (0, 1)."),
        Test(name="property: a long context, room 150, stride 64", kind="property",
             inputs=lambda: _sizes(1000, 150, 64), judge=_windows_judge,
             hint="Every window but the last holds room tokens; consecutive windows share stride tokens."),
    ),
)

EXERCISES = [SPAN, WINDOWS]
