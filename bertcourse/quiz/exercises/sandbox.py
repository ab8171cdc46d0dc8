"""Calling a learner's function so that nothing it does can break the notebook.

The function runs in the kernel itself (it is defined there and may close over the notebook's
objects, so it cannot be shipped to another process), guarded against each way it can misbehave:

- it raises anything, `KeyboardInterrupt`, `SystemExit` and `GeneratorExit` included: the
  exception's type, message and the learner's own line are kept, not a traceback;
- it never returns: a `SIGALRM` timer raises `TimeLimitExceeded` in it after the time limit. A
  bare `except:` in the learner's loop would swallow one exception, so from then on the stop is
  *hard*: a trace function makes every further Python step of the frames below the guarded call
  raise it again (a handler that swallows it runs one step and raises), the timer repeats, and
  the exception re-arms the trace when a handler frees it. The kernel lives on; the trace and the
  signal handler are put back as they were. Signals reach only the main thread, which is where a
  Jupyter kernel runs cells; elsewhere (or on Windows) there is no limit and the result says so;
- it prints a flood: stdout and stderr are captured, only the first characters are kept;
- it changes its inputs: the caller compares them with a deep copy taken before the call.

What no in-process guard can stop, and the course documents instead (docs/guarantees.md): a C
routine that never returns to Python (`list(itertools.count())`), `os._exit`, an allocation that
exhausts memory, or code that undoes the guard itself (`sys.settrace(None)`, keeping every
exception it catches). The engine runs the judges under the same guard, since they read what
the learner's function returned (a generator runs learner code as it is read).

Room: quiz.
"""

from __future__ import annotations

import contextlib
import io
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

KEPT_OUTPUT_CHARS = 400


class TimeLimitExceeded(BaseException):
    """Raised inside the learner's function when its time is up. A BaseException, so a
    learner's `except Exception:` does not swallow it; a bare `except:` that does frees it, and
    then it re-arms the hard stop at the very step that handler is running."""

    def __del__(self) -> None:
        if _active is not None:
            _active.arm(sys._getframe(1))


class _HardStop:
    """Once the time is up, every Python step of the frames between the signal and `boundary`
    (the guarded call's own frame), and of every frame they start, raises TimeLimitExceeded.
    Only the main thread is traced; `sys.settrace` is per thread."""

    def __init__(self, boundary: FrameType) -> None:
        self.boundary = boundary
        self.expired = False

    def on_alarm(self, _signum: int, frame: FrameType | None) -> None:
        if _active is not self or frame is self.boundary:  # the call has ended, or is ending
            return
        self.expired = True
        self.arm(frame)
        raise TimeLimitExceeded

    def arm(self, frame: FrameType | None) -> None:
        """Trace `frame` and its callers up to the boundary; nothing when `frame` is not below it."""
        below = []
        while frame is not None and frame is not self.boundary:
            below.append(frame)
            frame = frame.f_back
        if frame is None or not below or not self.expired:
            return
        for each in below:
            each.f_trace, each.f_trace_opcodes = self.trace, True
        sys.settrace(self.trace)

    def trace(self, frame: FrameType, event: str, _arg: Any) -> Any:
        if _active is not self or frame.f_code in _GUARD_CODE:
            return None
        frame.f_trace_opcodes = True
        if event == "exception":  # the stop passing through: raising here would only replace it
            return self.trace
        raise TimeLimitExceeded  # CPython drops the trace here; the exception's __del__ re-arms it


_GUARD_CODE = frozenset({TimeLimitExceeded.__del__.__code__, _HardStop.arm.__code__,
                         _HardStop.on_alarm.__code__, _HardStop.trace.__code__})
_REPEAT_S = 0.05  # after the limit, the alarm repeats this often until the call has ended
_active: _HardStop | None = None  # the stop of the guarded call running now (main thread only)


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


def guarded_call(function: Callable[..., Any], inputs: Mapping[str, Any], time_limit_s: float,
                 own: Callable[..., Any] | None = None) -> Guarded:
    """Call `function(**inputs)` under a time limit with its output captured. An error's line
    is looked for in the code of `own` (default: `function`), the learner's function."""
    global _active
    output = _CappedText()
    enforce = time_limit_available() and _active is None  # a guarded call inside one runs under the outer limit
    stop = _HardStop(sys._getframe())
    previous_handler, previous_trace = None, sys.gettrace()
    if enforce:
        previous_handler = signal.signal(signal.SIGALRM, stop.on_alarm)
        _active = stop
        signal.setitimer(signal.ITIMER_REAL, time_limit_s, _REPEAT_S)
    value, error, error_type, timed_out = None, None, None, False
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            try:
                value = function(**inputs)
            finally:
                if enforce:  # first, before any frame of ours runs traced (an alarm here is ignored)
                    _active = None
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    sys.settrace(previous_trace)
    except TimeLimitExceeded:
        timed_out = True
    except BaseException as exc:  # anything the learner's code raises (exit(), Ctrl-C, GeneratorExit) is reported
        error, error_type = _summarise(exc, own or function), type(exc).__name__
    finally:
        if enforce:
            signal.signal(signal.SIGALRM, previous_handler)
    return Guarded(value, error, error_type, timed_out, output.count, "".join(output.kept), time_limit_available())


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


class NotPlain(ValueError):
    """A returned value that cannot be judged as a plain value; the message is for the learner."""


_COMPARISONS = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__")
_TRUSTED_MODULES = ("builtins", "numpy", "torch")
_MAX_DEPTH = 50


def plain(value: Any, _depth: int = 0) -> Any:
    """`value` as the judges compare it: built-in values, NumPy values and tensors, with any
    subclass of them (a list subclass, an ndarray subclass, a tensor subclass) turned into its
    base type through the base type's own methods, containers item by item. A class of the
    learner's own that redefines comparison (`__eq__` always True would pass any `==`) is
    refused with `NotPlain`, as is nesting beyond 50 levels (a list that holds itself)."""
    kind = type(value)
    if _depth > _MAX_DEPTH:
        raise NotPlain(f"what your function returned is nested more than {_MAX_DEPTH} levels deep (does a "
                       "list hold itself?).")
    own = [klass for klass in kind.__mro__ if klass.__module__.split(".")[0] not in _TRUSTED_MODULES]
    if own and any(name in klass.__dict__ for klass in own for name in _COMPARISONS):
        raise NotPlain(f"your function returned a {kind.__name__}, a class whose == (or another comparison) is "
                       "its own, so the tests cannot compare it; return plain values (int, float, str, list, tuple, "
                       "dict, a NumPy array or a tensor).")
    base = next((klass for klass in kind.__mro__ if klass.__module__ in _TRUSTED_MODULES[:1] or
                 klass.__module__.split(".")[0] in _TRUSTED_MODULES[1:]), object)
    if base in (list, tuple, set, frozenset):
        return base(plain(item, _depth + 1) for item in base.__iter__(value))
    if base is dict:
        return {plain(key, _depth + 1): plain(item, _depth + 1) for key, item in dict.items(value)}
    if not own:
        return value
    if base in (bool, int, float, complex, str, bytes):  # e.g. int.__int__ gives the int itself
        return getattr(base, f"__{base.__name__}__")(value)
    if hasattr(value, "as_subclass"):  # a tensor subclass (its __torch_function__ goes too)
        import torch
        return value.as_subclass(torch.Tensor)
    if base.__module__.split(".")[0] == "numpy":
        import numpy as np
        return np.asarray(value)
    return value


def flood_note(guarded: Guarded) -> str | None:
    """A sentence about printed output, when there was any."""
    if not guarded.printed_chars:
        return None
    start = guarded.printed_start.strip().splitlines()[0][:80] if guarded.printed_start.strip() else ""
    shown = f", starting “{start}”" if start else ""
    return (f"your function printed {guarded.printed_chars:,} characters{shown} (hidden here; remove "
            "the prints when you are done debugging)")

