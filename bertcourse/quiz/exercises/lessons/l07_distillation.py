"""Lesson 07's exercises: the soft-target term of the distillation loss written from its
definition, and the int8 weight quantization that `torch.ao.quantization.quantize_dynamic` applies.

The notebook's `distillation_loss` calls `F.kl_div`; the exercise asks for the KL divergence from
its definition (log-softmax at temperature T, the teacher's probabilities as weights, the T²
factor, the batch mean), which is where the usual mistakes hide. The int8 cell of the notebook
calls PyTorch; the exercise is the arithmetic PyTorch does for every weight matrix. The
reference solutions are sealed.

Room: quiz.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from bertcourse.quiz.exercises.lessons._judging import as_float
from bertcourse.quiz.exercises.spec import Call, Exercise, Test, describe

# ---------------------------------------------------------------------------- soft-target loss

SOFT_INTRO = """### Exercise: the soft-target term from its definition

`distillation_loss` above lets `F.kl_div` compute the KL divergence (and `F.kl_div` wants
log-probabilities for the student but plain probabilities for the teacher, a classic trap).
Write the soft term yourself from the definition, without `F.kl_div`, with $p(T)$ the softmax
at temperature $T$ and $B$ the batch size:

$$T^2 \\cdot \\frac{1}{B}\\sum_{b}\\sum_i p^{t}_{b,i}(T)\\,\\big(\\log p^{t}_{b,i}(T) - \\log p^{s}_{b,i}(T)\\big)$$

($t$ the teacher, $s$ the student).
"""

SOFT_STUB = '''import torch
import torch.nn.functional as F
from torch import Tensor


def soft_target_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float) -> Tensor:
    """T² · KL(softmax(teacher / T) ‖ softmax(student / T)), without F.kl_div.

    student_logits, teacher_logits: (batch, classes) float tensors.
    Sum the KL over the classes and average it over the examples of the batch; multiply by T².
    Return a 0-dimensional tensor that keeps the autograd graph (the student learns from its
    gradient), so no .item() and no NumPy. Logits may be large (hundreds): take logarithms of
    probabilities with F.log_softmax, not torch.log(softmax(...)), which gives log(0) = -inf.
    """
    raise NotImplementedError("write the body of soft_target_loss")
'''


def _soft_judge(got: Any, call: Call) -> str | None:
    if not isinstance(got, torch.Tensor):
        return (f"expected a tensor (the loss the student's gradient comes from), got {describe(got)}: "
                "keep the computation in torch, no .item() or float().")
    if got.numel() != 1:
        return (f"expected one number (a 0-dimensional tensor), got shape {tuple(got.shape)}: sum over the "
                "classes and average over the batch.")
    value = float(got.detach())
    if math.isnan(value) or math.isinf(value):
        return (f"got {value}: a probability that underflows to 0 has log -inf. Use F.log_softmax for "
                "the logarithms.")
    expected = float(call.expected.detach())
    if math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-6):
        return None
    message = f"expected {expected:.6g}, got {value:.6g}"
    temperature = call.inputs["temperature"]
    classes = call.inputs["student_logits"].shape[-1]
    if temperature != 1 and math.isclose(value * temperature**2, expected, rel_tol=1e-4):
        message += f": {temperature ** 2:g} times too small, the T² factor (T = {temperature:g}) is missing"
    elif math.isclose(value * classes, expected, rel_tol=1e-4):
        message += f": {classes} times too small, you averaged over the classes too; sum over them"
    return message + "."


def _soft_needs_graph(got: Any, call: Call) -> str | None:
    problem = _soft_judge(got, call)
    if problem is not None:
        return problem
    if not got.requires_grad or got.grad_fn is None:
        return ("the loss is right but detached from the student's logits: no gradient could flow back. "
                "Avoid .detach(), .item(), NumPy and torch.no_grad() on the student's side.")
    return None


def _logits(student: list[list[float]], teacher: list[list[float]], temperature: float) -> dict[str, Any]:
    return {"student_logits": torch.tensor(student), "teacher_logits": torch.tensor(teacher),
            "temperature": temperature}


def _random_logits(seed: int, batch: int, classes: int, temperature: float, grad: bool = False) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(seed)
    student = 3 * torch.randn(batch, classes, generator=generator)
    teacher = 3 * torch.randn(batch, classes, generator=generator)
    return {"student_logits": student.requires_grad_(grad), "teacher_logits": teacher, "temperature": temperature}


SOFT = Exercise(
    id="07_soft_target_loss",
    anchor="generator = torch.Generator().manual_seed(0)",
    intro=SOFT_INTRO,
    stub=SOFT_STUB,
    hints=("Three lines: log-probabilities of both at temperature T (F.log_softmax(logits / T, dim=-1)), "
           "the teacher's probabilities (.exp() of its log-probabilities), and the weighted difference.",
           "Weight the difference of the two log-probabilities by the teacher's probabilities, sum over "
           "the classes (dim=-1), average over the batch, and multiply by T²."),
    tests=(
        Test(name="fixed: one example, two classes, T = 1", kind="fixed",
             inputs=lambda: _logits([[math.log(3.0), 0.0]], [[0.0, 0.0]], 1.0), judge=_soft_judge,
             hint="Teacher (0.5, 0.5), student (0.75, 0.25): 0.5·log(0.5/0.75) + 0.5·log(0.5/0.25) = 0.1438."),
        Test(name="fixed: T = 4 multiplies the KL by 16", kind="fixed",
             inputs=lambda: _logits([[2.0, -1.0, 0.5]], [[0.0, 3.0, -2.0]], 4.0), judge=_soft_judge,
             hint="Divide both logits by T before the softmax, then multiply the KL by T² = 16."),
        Test(name="fixed: sum over classes, mean over the batch", kind="fixed",
             inputs=lambda: _random_logits(0, 3, 6, 1.0), judge=_soft_judge,
             hint="KL sums over the classes of each example; only the batch is averaged (F.kl_div's "
                  "reduction='batchmean', not 'mean')."),
        Test(name="edge: a student equal to its teacher", kind="edge",
             inputs=lambda: _logits([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], [[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], 2.0),
             judge=_soft_judge, hint="Identical distributions have KL 0."),
        Test(name="edge: large logits", kind="edge",
             inputs=lambda: _logits([[800.0, 0.0, -800.0]], [[0.0, 900.0, 0.0]], 1.0), judge=_soft_judge,
             hint="softmax underflows to exactly 0 here and log(0) = -inf; F.log_softmax stays finite, and "
                  "a class the teacher gives probability 0 contributes 0."),
        Test(name="property: random batch, T = 2", kind="property",
             inputs=lambda: _random_logits(7, 16, 6, 2.0), judge=_soft_judge,
             hint="Check the order: KL(teacher ‖ student) weights by the teacher's probabilities."),
        Test(name="property: the loss keeps the student's gradient", kind="property",
             inputs=lambda: _random_logits(8, 4, 5, 3.0, grad=True), judge=_soft_needs_graph,
             hint="Stay in torch from the logits to the loss; the Trainer calls .backward() on it."),
    ),
)

# ------------------------------------------------------------------------------- int8 weights

INT8_INTRO = """### Exercise: what int8 quantization stores

`kd.quantize_int8` hands every `nn.Linear` to PyTorch's dynamic quantization, which stores each
weight matrix as 8-bit integers and **one** float scale (per-tensor, symmetric: zero stays
exactly zero). Write that arithmetic; the cell after the check uses it (or, until it passes, the
course's version) to show how far rounding moves a weight and how much memory it saves.
"""

INT8_AFTER = '''import numpy as np
import torch

# one matrix of MiniLM's size; NumPy's generator gives the same numbers on every CPU
weight = torch.from_numpy(np.random.default_rng(0).normal(0.0, 0.05, size=(384, 384)).astype(np.float32))
q, scale = quantize_int8(weight)
moved = (q.float() * float(scale) - weight).abs().max().item()
print(f"scale {float(scale):.2e}: no weight moves by more than {moved:.2e} (scale / 2 = {float(scale) / 2:.2e}); "
      f"{weight.numel() * 4 // 1024} KiB as float32, {q.numel() // 1024} KiB as int8")
'''

INT8_STUB = '''import torch
from torch import Tensor


def quantize_int8(weight: Tensor) -> tuple[Tensor, float]:
    """Symmetric per-tensor int8 quantization, as PyTorch's dynamic quantization does it.

    scale = max(|weight|) / 127.5   (int8 runs from -128 to 127: 255 steps, centred on 0)
    q = weight / scale, rounded to the nearest integer, clamped to [-128, 127], as torch.int8
    Return (q, scale) with q the same shape as weight and scale a Python float; q * scale is
    then the weight to within scale / 2. If every weight is 0, use scale = 1.0.
    Do not modify `weight`.
    """
    raise NotImplementedError("write the body of quantize_int8")
'''


def _int8_judge(got: Any, call: Call) -> str | None:
    if not isinstance(got, tuple) or len(got) != 2:
        return f"expected a tuple (q, scale), got {describe(got)}."
    q, scale = got
    weight = call.inputs["weight"]
    if not isinstance(q, torch.Tensor) or q.dtype != torch.int8:
        return f"q: expected a torch.int8 tensor, got {describe(q)}."
    if tuple(q.shape) != tuple(weight.shape):
        return f"q: expected shape {tuple(weight.shape)}, got {tuple(q.shape)}."
    if isinstance(scale, torch.Tensor) and scale.numel() == 1:
        scale = scale.item()
    scale = as_float(scale)
    if isinstance(scale, str):
        return f"scale: {scale}"
    expected_q, expected_scale = call.expected
    if not math.isclose(scale, expected_scale, rel_tol=1e-6):
        message = f"scale: expected {expected_scale:.6g}, got {scale:.6g}"
        largest = float(weight.abs().max())
        if largest and math.isclose(scale, largest / 127, rel_tol=1e-6):
            message += " (max|w| / 127; PyTorch divides by 127.5, half of the 255 steps from -128 to 127)"
        return message + "."
    difference = (q.to(torch.int32) - expected_q.to(torch.int32)).abs()
    if (difference > 1).any() or int((difference == 1).sum()) > max(1, weight.numel() // 1000):
        index = tuple(int(i) for i in (difference > 0).nonzero()[0])
        value = float(weight[index]) / expected_scale
        message = (f"q at {index}: weight / scale = {value:.3f} should become {int(expected_q[index])}, yours "
                   f"is {int(q[index])}")
        if value > 127 and int(q[index]) < 0:
            message += ": 128 does not fit in int8 and wrapped around to -128; clamp before converting"
        elif abs(int(q[index])) < abs(int(expected_q[index])) and abs(value - round(value)) > 0.01:
            message += ": converting with .to(torch.int8) truncates towards 0; round first"
        return message + "."
    return None


def _weight(values: list[list[float]]) -> dict[str, Any]:
    return {"weight": torch.tensor(values)}


INT8 = Exercise(
    id="07_quantize_int8",
    anchor='distilled = students["distilled student"]\nquantized = kd.quantize_int8(distilled)',
    intro=INT8_INTRO,
    stub=INT8_STUB,
    after=INT8_AFTER,
    hints=("scale = weight.abs().max().item() / 127.5, then torch.round(weight / scale).",
           "Clamp to [-128, 127] before .to(torch.int8): the largest weight divides to 127.5, rounds to "
           "128, and 128 does not fit."),
    tests=(
        Test(name="fixed: a small matrix by hand", kind="fixed",
             inputs=lambda: _weight([[0.33, -0.6], [0.05, -0.8]]), judge=_int8_judge,
             hint="scale = 0.8 / 127.5 = 0.006275; 0.33 / scale = 52.59 rounds to 53, -0.6 / scale = -95.63 "
                  "to -96."),
        Test(name="fixed: the largest positive weight", kind="fixed",
             inputs=lambda: _weight([[0.12, -0.17, 0.3]]), judge=_int8_judge,
             hint="0.3 / scale = 127.5 (in floating point a hair above) rounds to 128, beyond int8: clamp to 127."),
        Test(name="edge: all weights zero", kind="edge", inputs=lambda: _weight([[0.0, 0.0], [0.0, 0.0]]),
             judge=_int8_judge, hint="max|w| = 0 would make the scale 0 and w / scale = 0 / 0: use 1.0."),
        Test(name="edge: one weight", kind="edge", inputs=lambda: _weight([[-0.02]]), judge=_int8_judge,
             hint="A single weight is its own maximum: it becomes -128 (or 127 if positive)."),
        Test(name="property: a random 64 x 48 weight matrix", kind="property",
             inputs=lambda: {"weight": 0.05 * torch.randn(64, 48, generator=torch.Generator().manual_seed(3))},
             judge=_int8_judge,
             hint="One scale for the whole matrix (its largest |w|), not one per row."),
    ),
)

EXERCISES = [SOFT, INT8]
