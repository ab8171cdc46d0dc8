"""Exercises of notebook 02 (architecture).

02_masked_attention: scaled dot-product attention straight from a tokenizer's `attention_mask`,
with an optional causal mask. The notebook prints the attention formula and the two masks as
separate functions; putting them together (which dimension the padding mask covers, how two
masks combine, where √d_k goes) is the part a learner gets wrong, and the tests say which.

Room: quiz.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..spec import Call, Exercise, Test, all_of, differs

ATOL = 1e-5


def _qkv(batch: int, heads: int, n: int, d_k: int, seed: int, lengths: list[int] | None = None,
         causal: bool = False) -> dict[str, Any]:
    """Random queries, keys and values; rows of the mask are 1 for the first `lengths[b]` tokens."""
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, heads, n, d_k)
    lengths = lengths or [n] * batch
    mask = torch.tensor([[1] * length + [0] * (n - length) for length in lengths])
    inputs = {"query": torch.randn(shape, generator=generator), "key": torch.randn(shape, generator=generator),
              "value": torch.randn(shape, generator=generator), "attention_mask": mask}
    if causal:
        inputs["causal"] = True
    return inputs


def _show(inputs: Mapping[str, Any]) -> str:
    batch, heads, n, d_k = inputs["query"].shape
    text = (f"query, key, value of shape (batch={batch}, heads={heads}, n={n}, d_k={d_k}), "
            f"attention_mask={inputs['attention_mask'].tolist()}")
    return text + (", causal=True" if inputs.get("causal") else "")


def _pair(got: Any, call: Call) -> str | None:
    """The output must be (output, weights) with the shapes the contract states."""
    query = call.inputs["query"]
    batch, heads, n, d_k = query.shape
    if not isinstance(got, tuple) or len(got) != 2 or not all(isinstance(t, torch.Tensor) for t in got):
        return "expected a tuple (output, weights) of two tensors."
    output, weights = got
    if tuple(output.shape) != (batch, heads, n, d_k):
        return f"output: expected shape {(batch, heads, n, d_k)}, got {tuple(output.shape)}."
    if tuple(weights.shape) != (batch, heads, n, n):
        return (f"weights: expected shape {(batch, heads, n, n)} (one row per query, one column per key), "
                f"got {tuple(weights.shape)}.")
    return None


def _matches(got: Any, call: Call) -> str | None:
    for name, mine, wanted in zip(("output", "weights"), got, call.expected, strict=True):
        problem = differs(mine, wanted, ATOL)
        if problem:
            return f"{name}: {problem[0].lower()}{problem[1:]}"
    return None


def _padding_gets_zero(got: Any, call: Call) -> str | None:
    weights = got[1]
    padded = call.inputs["attention_mask"][:, None, None, :].expand_as(weights) == 0
    leaked = weights.masked_fill(~padded, 0).abs()
    if leaked.max() > ATOL:
        b, h, q, k = (int(i) for i in (leaked == leaked.max()).nonzero()[0])
        return (f"padding keys must get weight 0, but weights[{b}, {h}, {q}, {k}] = {weights[b, h, q, k]:.4f} "
                f"and key {k} of sequence {b} is padding.")
    return None


def _rows_sum_to_one(got: Any, call: Call) -> str | None:
    sums = got[1].sum(dim=-1)
    worst = (sums - 1).abs().max().item()
    if not worst <= 1e-4:
        return (f"each query's weights over the keys must sum to 1; the worst row sums to "
                f"{sums.flatten()[(sums - 1).abs().flatten().argmax()].item():.4f}.")
    return None


def _padding_invariant(got: Any, call: Call) -> str | None:
    """The output at real positions of a padded sequence must equal the output of the same
    sequence without its padding (the padded keys hold random junk)."""
    real = int(call.inputs["attention_mask"][0].sum())
    short = {name: tensor[:, :, :real] for name, tensor in call.inputs.items() if name != "attention_mask"}
    alone, _ = call.reference(**short, attention_mask=call.inputs["attention_mask"][:, :real])
    difference = (got[0][:, :, :real] - alone).abs().max().item()
    if not difference <= 1e-4:
        return (f"with {call.inputs['attention_mask'].shape[1] - real} padding positions added, the output at the "
                f"{real} real positions changed by up to {difference:.3g}: padded keys must not contribute.")
    return None


# A judge first checks the form (a pair of tensors of the right shapes), then the values.
MATCHES = all_of(_pair, _matches)

EXERCISES = [Exercise(
    id="02_masked_attention",
    anchor="print(causal_mask(4).int())",
    intro=(
        "### Exercise: attention from a tokenizer's mask\n\n"
        "Put the pieces above together in one function: scaled dot-product attention over a batch of "
        "several heads, taking the tokenizer's `attention_mask` (1 for a real token, 0 for padding) and, "
        "when `causal=True`, also hiding later positions. Use tensor operations (`@`, `softmax`, "
        "`masked_fill`), not `scaled_dot_product_attention` itself. The hidden tests compare with the "
        "course's version on fixed inputs and check properties on random batches: rows sum to 1, padding "
        "gets weight 0, and padding does not change the output."),
    stub='''import math

import torch
from torch import Tensor


def masked_attention(query: Tensor, key: Tensor, value: Tensor, attention_mask: Tensor,
                     causal: bool = False) -> tuple[Tensor, Tensor]:
    """softmax(Q Kᵀ / √d_k + mask) V for every sequence and head; returns (output, weights).

    query, key, value: (batch, heads, n, d_k) floats. attention_mask: (batch, n), 1 for a real
    token and 0 for padding (as the tokenizer returns it); no query may attend to a padding key.
    causal=True also stops position i from attending to any key j > i.
    output: (batch, heads, n, d_k); weights: (batch, heads, n, n), each row summing to 1.
    """
    raise NotImplementedError("write the body of masked_attention")
''',
    hints=("Scores are query @ key.transpose(-2, -1) / math.sqrt(d_k), shape (batch, heads, n, n): one "
           "row per query, one column per key.",
           "Padding hides keys, i.e. columns: reshape the mask to (batch, 1, 1, n) so it broadcasts over "
           "heads and queries, fill hidden scores with -inf before the softmax over the last dimension. "
           "For causal, AND it with torch.ones(n, n, dtype=torch.bool).tril()."),
    tests=(
        Test("fixed: one sequence, one head, d_k = 1", "fixed", lambda: _qkv(1, 1, 3, 1, seed=0), MATCHES,
             "Start from the formula: scores = Q Kᵀ / √d_k, softmax over the keys, then weights @ V.", _show),
        Test("fixed: the scores are divided by √d_k (d_k = 16)", "fixed", lambda: _qkv(1, 2, 4, 16, seed=1),
             MATCHES, "Divide the scores by math.sqrt(d_k), where d_k = query.size(-1), before the softmax.",
             _show),
        Test("edge: padding keys get weight 0", "edge", lambda: _qkv(2, 2, 5, 8, seed=2, lengths=[5, 2]),
             all_of(_pair, _padding_gets_zero, _matches),
             "The mask hides keys (columns of the scores), for every head and every query.", _show),
        Test("edge: a batch of one sequence of one token", "edge", lambda: _qkv(1, 1, 1, 4, seed=3), MATCHES,
             "With a single key, its weight is 1 and the output is its value.", _show),
        Test("edge: causal=True hides later positions", "edge",
             lambda: _qkv(2, 2, 4, 8, seed=4, lengths=[4, 3], causal=True), MATCHES,
             "Combine the two masks: a key is visible if it is real AND not after the query.", _show),
        Test("property: each row of weights sums to 1 (20 random batches)", "property",
             lambda: [_qkv(2, 3, 6, 8, seed=10 + i, lengths=[6, 1 + i % 6], causal=i % 2 == 1) for i in range(20)],
             all_of(_pair, _rows_sum_to_one), "Take the softmax over the keys: dim=-1.", _show),
        Test("property: padding does not change the output at real positions", "property",
             lambda: [_qkv(1, 2, 7, 8, seed=30 + i, lengths=[4]) for i in range(10)], all_of(_pair, _padding_invariant),
             "Padded keys must get weight exactly 0, so their (random) values cannot leak into the output.",
             _show),
    ),
)]
