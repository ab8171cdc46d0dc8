"""Calling a learner's function so that nothing it does can break the notebook.

The function runs in the kernel itself (it is defined there and may close over the notebook's
objects, so it cannot be shipped to another process), guarded against each way it can misbehave:

- it raises: the exception's type, message and the learner's own line are kept, not a traceback;
- it never returns: a `SIGALRM` timer interrupts it after the time limit. Signals reach only the
  main thread, which is where a Jupyter kernel runs cells; elsewhere (or on Windows) there is no
  limit and the result says so. A C routine that never returns to Python cannot be interrupted
  this way; every loop a learner writes in Python can;
- it prints a flood: stdout and stderr are captured, only the first characters are kept;
- it changes its inputs: the caller compares them with a deep copy taken before the call.

Room: quiz.
"""

from __future__ import annotations

import contextlib
import io
import signal
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

KEPT_OUTPUT_CHARS = 400


class TimeLimitExceeded(BaseException):
    """Raised inside the learner's function when its time is up. A BaseException, so a
    learner's `except Exception:` does not swallow it."""


class _CappedText(io.TextIOBase):
    """A text stream that counts everything written and keeps only the beginning."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        room = KEPT_OUTPUT_CHARS - min(self.count, KEPT_OUTPUT_CHARS)
        if room:
            self.kept.append(text[:room])
        self.count += len(text)
        return len(text)


@dataclass(frozen=True)
class Guarded:
    """What one guarded call did."""

    value: Any = None
    error: str | None = None          # "ValueError: bad shape (line 7: `x = y.view(3)`)"
    error_type: str | None = None
    timed_out: bool = False
    printed_chars: int = 0
    printed_start: str = ""
    time_limit_enforced: bool = True


def time_limit_available() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def guarded_call(function: Callable[..., Any], inputs: Mapping[str, Any], time_limit_s: float) -> Guarded:
    """Call `function(**inputs)` under a time limit with its output captured."""
    output = _CappedText()
    enforce = time_limit_available()
    previous_handler = None
    if enforce:
        def on_alarm(_signum: int, _frame: Any) -> None:
            raise TimeLimitExceeded
        previous_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, time_limit_s)
    value, error, error_type, timed_out = None, None, None, False
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            value = function(**inputs)
    except TimeLimitExceeded:
        timed_out = True
    except (Exception, SystemExit) as exc:  # anything the learner's code raises (even exit()) is reported
        error, error_type = _summarise(exc, function), type(exc).__name__
    finally:
        if enforce:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
    return Guarded(value, error, error_type, timed_out, output.count, "".join(output.kept), enforce)


def _summarise(error: BaseException, function: Callable[..., Any]) -> str:
    """`Type: message`, plus the deepest line of the learner's own code where it happened."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    code = getattr(function, "__code__", None)
    frames = traceback.extract_tb(error.__traceback__)
    own = [frame for frame in frames if code is not None and frame.filename == code.co_filename]
    if own and own[-1].line:
        text += f" (in your code: `{own[-1].line.strip()}`)"
    return text


def is_unchanged_stub(guarded: Guarded) -> bool:
    """The stub's body raises NotImplementedError until the learner writes one."""
    return guarded.error_type == "NotImplementedError"


def same(before: Any, after: Any) -> bool:
    """Whether an input still equals its copy taken before the call (tensors and arrays by
    shape, dtype and value, containers item by item, plain values by ==; other objects, such
    as a random generator whose state is meant to advance, are not compared)."""
    if hasattr(before, "shape") and hasattr(before, "dtype"):
        if type(before) is not type(after) or tuple(before.shape) != tuple(after.shape):
            return False
        if hasattr(before, "equal"):
            return bool(before.equal(after))
        import numpy as np
        return bool(np.array_equal(before, after, equal_nan=True))
    if isinstance(before, dict):
        return (isinstance(after, dict) and before.keys() == after.keys()
                and all(same(before[key], after[key]) for key in before))
    if isinstance(before, (list, tuple)):
        return (type(before) is type(after) and len(before) == len(after)
                and all(same(a, b) for a, b in zip(before, after, strict=True)))
    if isinstance(before, (str, int, float, complex, bytes, set, frozenset, type(None))):
        return bool(before == after)
    return True  # a generator, a model, a tokenizer: meant to change, or not comparable by value


def flood_note(guarded: Guarded) -> str | None:
    """A sentence about printed output, when there was any."""
    if not guarded.printed_chars:
        return None
    start = guarded.printed_start.strip().splitlines()[0][:80] if guarded.printed_start.strip() else ""
    shown = f", starting “{start}”" if start else ""
    return (f"your function printed {guarded.printed_chars:,} characters{shown} (hidden here; remove "
            "the prints when you are done debugging)")

