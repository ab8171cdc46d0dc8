"""What a lesson declares for a coding exercise: the stub, the hidden tests, and how to judge.

A lesson file (`lessons/lNN_<notebook>.py`) lists `EXERCISES`. Each `Test` builds fresh keyword
arguments (`inputs`; a list of them for a property checked on many random inputs, where the
first failing one is reported), the engine calls the learner's function with them inside the sandbox, and
the test's `judge` turns what came back into None (pass) or one or two sentences saying what was
expected and what came back. Judges get a `Call`, whose `expected` runs the sealed reference
solution on a pristine copy of the inputs only when a judge asks for it, so property tests that
never need the reference never run it.

A test's hint fits the mistake it was written for, but an output can fail it for another
reason. An exercise's `diagnoses` name mistakes by what they do to the output: when a test fails,
the first diagnosis whose judge also finds a problem in what came back gives the hint instead
(e.g. a span that counts the "##" fails "longest match first" too, but its hint is about spans).

The reference solution and the known-wrong variants are not here: they are sealed (see
`catalog.py`), so reading this file does not give the answer away.

Room: quiz.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["fixed", "edge", "property"]
Judge = Callable[[Any, "Call"], "str | None"]
_SHOWN_ITEMS = 12


class Call:
    """One test call: the inputs the learner's function got (as they were before the call),
    and the reference output on a copy of them, computed on first use."""

    def __init__(self, inputs: Mapping[str, Any], reference: Callable[..., Any]) -> None:
        self.inputs = inputs
        self._reference = reference
        self._expected: tuple[Any] | None = None

    @property
    def expected(self) -> Any:
        if self._expected is None:
            self._expected = (self.reference(**self.inputs),)
        return self._expected[0]

    def reference(self, **inputs: Any) -> Any:
        """The reference solution on other inputs (copied first), e.g. for invariance properties."""
        return self._reference(**copy.deepcopy(inputs))


@dataclass(frozen=True)
class Test:
    """One hidden test. `name` is shown to the learner and stored with a failed attempt, so it
    must stay stable (the instructor report counts failures by name)."""

    name: str
    kind: Kind
    inputs: Callable[[], dict[str, Any] | list[dict[str, Any]]]  # a list: one call per item (properties)
    judge: Judge
    hint: str
    show: Callable[[Mapping[str, Any]], str] | None = None  # replaces the automatic input text

    def describe_inputs(self, inputs: Mapping[str, Any]) -> str:
        if self.show is not None:
            return self.show(inputs)
        return ", ".join(f"{name}={describe(value)}" for name, value in inputs.items())


@dataclass(frozen=True)
class Diagnosis:
    """A mistake recognised in an output by `judge` (None: not this mistake), and its hint."""

    judge: Judge
    hint: str


@dataclass(frozen=True)
class Exercise:
    """One exercise of a lesson notebook; `id` must have a sealed file (catalog.py) that names
    its notebook, title and function."""

    id: str
    anchor: str
    intro: str
    stub: str
    tests: tuple[Test, ...]
    hints: tuple[str, ...] = ()
    after: str | None = None
    time_limit_s: float = 5.0
    diagnoses: tuple[Diagnosis, ...] = ()


def describe(value: Any, limit: int = 160) -> str:
    """A short, readable form of an input or output: tensors and arrays by shape and dtype,
    with their values when small; long containers shortened."""
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype") and not isinstance(value, (int, float)):
        kind = type(value).__name__
        text = f"{kind} of shape {tuple(shape)}, dtype {str(value.dtype).removeprefix('torch.')}"
        size = math.prod(shape) if shape else 1
        if size <= _SHOWN_ITEMS * 2:
            values = value.tolist()
            if isinstance(values, list) or shape == ():
                text += f": {_rounded(values)}"
        return text
    if isinstance(value, dict):
        text = repr(value) if len(value) <= _SHOWN_ITEMS else f"a dict of {len(value)} entries"
    elif isinstance(value, (list, tuple)) and len(value) > _SHOWN_ITEMS:
        text = f"a {type(value).__name__} of {len(value)} items, starting {repr(list(value[:6]))[:-1]}, ...]"
    else:
        text = repr(_rounded(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_rounded(item) for item in value)
    return value


def _type_problem(got: Any, expected: Any) -> str | None:
    """A message when `got` is not even the same kind of thing as `expected`."""
    if hasattr(expected, "shape") and hasattr(expected, "dtype"):
        if type(got).__name__ != type(expected).__name__ or not hasattr(got, "shape"):
            return f"expected a {type(expected).__name__}, got {describe(got)}."
        if tuple(got.shape) != tuple(expected.shape):
            return f"expected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}."
        if got.dtype != expected.dtype and not (_is_float(got) and _is_float(expected)):
            return (f"expected dtype {str(expected.dtype).removeprefix('torch.')}, got "
                    f"{str(got.dtype).removeprefix('torch.')}.")
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return f"expected a {type(expected).__name__} of {_items(len(expected))}, got {describe(got)}."
        if len(got) != len(expected):
            return f"expected {_items(len(expected))}, got {len(got)}."
        return None
    if isinstance(expected, bool) or not isinstance(expected, (int, float)):
        if type(got) is not type(expected) and not (isinstance(got, str) and isinstance(expected, str)):
            return f"expected a {type(expected).__name__}, got {describe(got)}."
    elif not isinstance(got, (int, float)) or isinstance(got, bool):
        return f"expected a number, got {describe(got)}."
    return None


def _items(count: int) -> str:
    return f"{count} item{'s' if count != 1 else ''}"


def _is_float(tensor: Any) -> bool:
    return "float" in str(tensor.dtype)


def _at(where: str) -> str:
    """"at [1][2]: " for an item inside the output, nothing for the output itself."""
    return f"at {where}: " if where else ""


def _compare(got: Any, expected: Any, where: str, atol: float | None, rtol: float) -> str | None:
    problem = _type_problem(got, expected)
    if problem is not None:
        return f"at {where}: {problem}" if where else problem[0].upper() + problem[1:]
    if isinstance(expected, (tuple, list)) and not hasattr(expected, "shape"):
        for index, (item, wanted) in enumerate(zip(got, expected, strict=True)):
            problem = _compare(item, wanted, f"{where}[{index}]", atol, rtol)
            if problem is not None:
                return problem
        return None
    if hasattr(expected, "shape"):
        return _compare_arrays(got, expected, where, atol, rtol)
    if isinstance(expected, float) and atol is not None:
        if not math.isclose(got, expected, abs_tol=atol, rel_tol=rtol):
            return f"{_at(where)}expected {expected:.6g}, got {got:.6g}."
        return None
    if got != expected:
        return f"{_at(where)}expected {describe(expected)}, got {describe(got)}."
    return None


def _compare_arrays(got: Any, expected: Any, where: str, atol: float | None, rtol: float) -> str | None:
    import numpy as np  # tensors arrive here too: both convert to numpy for the comparison

    got_values = np.asarray(got.detach().cpu() if hasattr(got, "detach") else got)
    wanted = np.asarray(expected.detach().cpu() if hasattr(expected, "detach") else expected)
    if atol is not None or got_values.dtype.kind == "f" or wanted.dtype.kind == "f":
        got_values, wanted = got_values.astype(float), wanted.astype(float)  # integer ids stay integers
    if atol is None:
        wrong = got_values != wanted
    else:
        wrong = ~np.isclose(got_values, wanted, atol=atol, rtol=rtol, equal_nan=True)
    if not wrong.any():
        return None
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    text = (f"{_at(where)}{int(wrong.sum())} of {wrong.size} values differ; first at index {first}: expected "
            f"{_rounded(wanted[first].item())}, got {_rounded(got_values[first].item())}")
    if atol is not None:
        text += f" (largest difference {float(np.nanmax(np.abs(got_values - wanted))):.3g}, tolerance {atol:g})"
    if wanted.size <= _SHOWN_ITEMS * 2:
        text += f". Expected {_rounded(wanted.tolist())}, got {_rounded(got_values.tolist())}"
    return text + "."


def differs(got: Any, expected: Any, atol: float | None = None, rtol: float = 1e-4) -> str | None:
    """None when `got` matches `expected` (exactly, or within `atol`/`rtol` when given), else
    what differs: the type, the shape, the dtype or the first differing value. For a list or
    tuple, the whole expected and returned values follow, since an index path or an item count
    alone ("expected 1 item, got 2") does not show what was wanted."""
    problem = _compare(got, expected, "", atol, rtol)
    if problem is None or not isinstance(expected, (list, tuple)):
        return problem
    return f"{problem} Expected {describe(expected)}; got {describe(got)}."


def all_of(*judges: Judge) -> Judge:
    """A judge that runs `judges` in order and reports the first problem, so a check of the
    output's form (a tuple of two tensors of the right shapes) is written once and comes first."""
    def judge(got: Any, call: Call) -> str | None:
        return next((problem for check in judges if (problem := check(got, call))), None)
    return judge


def equal() -> Judge:
    """Pass when the output equals the reference's exactly (type, shape, dtype and values)."""
    return lambda got, call: differs(got, call.expected)


def close(atol: float = 1e-5, rtol: float = 1e-4) -> Judge:
    """Pass when numbers, arrays or tensors match the reference within tolerance (floating
    point sums in another order differ in the last bits, which is not a mistake)."""
    return lambda got, call: differs(got, call.expected, atol, rtol)
