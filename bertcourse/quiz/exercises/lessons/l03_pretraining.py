"""Exercises of notebook 03 (pretraining).

03_whole_word_masking: the 15% / 80-10-10 rule applied to whole words (the later BERT release
"whole word masking": all pieces of a chosen word are predicted together). The notebook prints
`mask_tokens`, the per-token rule; choosing words rather than pieces makes the learner rebuild
the rule instead of copying it, and the tests measure the shares on a large batch, as the
notebook does for `mask_tokens`.

Randomness: the learner's draws cannot match the reference's, so only deterministic settings
(mlm_probability 0 or 1) are compared exactly; the rest are properties with tolerances wide
enough (about five standard errors) that a correct function fails them about once in a million.

Room: quiz.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..spec import Call, Exercise, Test, all_of, differs

MASK_ID, VOCAB_SIZE, PAD, CLS, SEP = 4, 1000, 0, 2, 3


def _example(probability: float, seed: int = 0) -> dict[str, Any]:
    """Two short rows: '[CLS] w0 w1 w1 w2 [SEP] [PAD]' with word ids, -1 at specials and padding."""
    return {"input_ids": torch.tensor([[CLS, 11, 12, 13, 14, SEP, PAD], [CLS, 21, 22, 22, 22, 23, SEP]]),
            "word_ids": torch.tensor([[-1, 0, 1, 1, 2, -1, -1], [-1, 0, 1, 1, 1, 2, -1]]),
            "mask_token_id": MASK_ID, "vocab_size": VOCAB_SIZE,
            "generator": torch.Generator().manual_seed(seed), "mlm_probability": probability}


def _big_batch(probability: float, seed: int = 0, rows: int = 400, words: int = 30) -> dict[str, Any]:
    """`rows` sequences of `words` words of 1-3 pieces each, framed by [CLS]/[SEP] and padded."""
    generator = torch.Generator().manual_seed(seed)
    ends = torch.randint(1, 4, (rows, words), generator=generator).cumsum(dim=1)  # where each word ends
    lengths = ends[:, -1:]
    positions = torch.arange(int(lengths.max())).expand(rows, -1)
    inner = torch.where(positions < lengths, torch.searchsorted(ends, positions.contiguous(), right=True), -1)
    word_ids = torch.cat([torch.full((rows, 1), -1), inner, torch.full((rows, 1), -1)], dim=1)
    ids = torch.where(word_ids >= 0, torch.randint(10, VOCAB_SIZE, word_ids.shape, generator=generator), PAD)
    ids[:, 0] = CLS
    ids[torch.arange(rows), lengths.squeeze(1) + 1] = SEP
    return {"input_ids": ids, "word_ids": word_ids, "mask_token_id": MASK_ID, "vocab_size": VOCAB_SIZE,
            "generator": torch.Generator().manual_seed(seed + 1), "mlm_probability": probability}


def _show(inputs: Mapping[str, Any]) -> str:
    ids = inputs["input_ids"]
    shown = (f"input_ids={ids.tolist()}, word_ids={inputs['word_ids'].tolist()}" if ids.numel() <= 20
             else f"input_ids of shape {tuple(ids.shape)} ({int((inputs['word_ids'] >= 0).sum()):,} word pieces)")
    return (f"{shown}, mask_token_id={inputs['mask_token_id']}, vocab_size={inputs['vocab_size']}, "
            f"mlm_probability={inputs['mlm_probability']}")


def _pair(got: Any, call: Call) -> str | None:
    shape = tuple(call.inputs["input_ids"].shape)
    if not isinstance(got, tuple) or len(got) != 2 or not all(isinstance(t, torch.Tensor) for t in got):
        return "expected a tuple (masked_ids, labels) of two tensors."
    for name, tensor in zip(("masked_ids", "labels"), got, strict=True):
        if tuple(tensor.shape) != shape:
            return f"{name}: expected shape {shape} (the same as input_ids), got {tuple(tensor.shape)}."
        if tensor.dtype != torch.long:
            return f"{name}: expected dtype int64 (token ids), got {str(tensor.dtype).removeprefix('torch.')}."
    return None


def _labels_and_untouched(got: Any, call: Call) -> str | None:
    """Deterministic settings: labels must equal the reference's, and positions not chosen
    keep their ids (chosen ones are random, so only the labels can be compared there)."""
    masked, labels = got
    problem = differs(labels, call.expected[1])
    if problem:
        return f"labels: {problem[0].lower()}{problem[1:]}"
    ids = call.inputs["input_ids"]
    kept = labels == -100
    if not torch.equal(masked[kept], ids[kept]):
        index = tuple(int(i) for i in (kept & (masked != ids)).nonzero()[0])
        return (f"masked_ids: position {index} was not chosen (label -100) but its id changed from "
                f"{int(ids[index])} to {int(masked[index])}.")
    return None


def _chosen(labels: torch.Tensor) -> torch.Tensor:
    return labels != -100


def _never_special(got: Any, call: Call) -> str | None:
    special = call.inputs["word_ids"] < 0
    if _chosen(got[1])[special].any():
        index = tuple(int(i) for i in (_chosen(got[1]) & special).nonzero()[0])
        return f"position {index} has word id -1 ([CLS], [SEP] or [PAD]) but was chosen."
    return None


def _whole_words(got: Any, call: Call) -> str | None:
    chosen, word_ids = _chosen(got[1]), call.inputs["word_ids"]
    words = int(word_ids.max()) + 1 if word_ids.numel() else 0
    real = word_ids >= 0
    key = (torch.arange(word_ids.size(0))[:, None] * max(words, 1) + word_ids)[real]  # one key per (row, word)
    pieces = torch.bincount(key, minlength=word_ids.size(0) * max(words, 1))
    picked = torch.bincount(key, weights=chosen[real].double(), minlength=len(pieces)).long()
    partial = ((picked > 0) & (picked < pieces)).nonzero()
    if len(partial):
        row, word = divmod(int(partial[0]), max(words, 1))
        return (f"in row {row}, word {word} has {int(picked[partial[0]])} of its {int(pieces[partial[0]])} "
                "pieces chosen: a word is chosen whole or not at all.")
    labels, ids = got[1], call.inputs["input_ids"]
    if not torch.equal(labels[chosen], ids[chosen]):
        return "labels at chosen positions must be the original ids from input_ids."
    return None


def _word_share(got: Any, call: Call) -> str | None:
    word_ids, chosen = call.inputs["word_ids"], _chosen(got[1])
    first = (word_ids >= 0) & torch.cat([torch.ones_like(word_ids[:, :1], dtype=torch.bool),
                                         word_ids[:, 1:] != word_ids[:, :-1]], dim=1)
    share = chosen[first].float().mean().item()
    wanted = call.inputs["mlm_probability"]
    if abs(share - wanted) > 0.02:
        return (f"{share:.1%} of the {int(first.sum()):,} words were chosen; expected "
                f"{wanted:.0%} ± 2 points (mlm_probability).")
    return None


def _eighty_ten_ten(got: Any, call: Call) -> str | None:
    masked, labels = got
    ids, chosen = call.inputs["input_ids"], _chosen(labels)
    if not chosen.any():
        return "nothing was chosen, so the 80/10/10 split cannot be measured."
    n = int(chosen.sum())
    became_mask = (masked[chosen] == MASK_ID).float().mean().item()
    unchanged = (masked[chosen] == ids[chosen]).float().mean().item()
    other = 1 - became_mask - unchanged
    if abs(became_mask - 0.8) > 0.03 or abs(unchanged - 0.1) > 0.025 or abs(other - 0.1) > 0.025:
        return (f"of the {n:,} chosen pieces, {became_mask:.1%} became [MASK], {other:.1%} another token and "
                f"{unchanged:.1%} stayed unchanged; expected 80% / 10% / 10% (± 3 points).")
    out_of_range = masked[chosen & (masked != MASK_ID) & (masked != ids)]
    if ((out_of_range < 0) | (out_of_range >= VOCAB_SIZE)).any():
        return "a random replacement lies outside 0 … vocab_size - 1."
    return None


# A judge first checks the form (a pair of int64 tensors shaped like input_ids), then the values.
LABELS = all_of(_pair, _labels_and_untouched)
SHARE = all_of(_pair, _whole_words, _word_share)

EXERCISES = [Exercise(
    id="03_whole_word_masking",
    anchor="Both implementations follow the same rule",
    intro=(
        "### Exercise: whole-word masking\n\n"
        "`mask_tokens` chooses word *pieces*: in `un ##believ ##able`, the model may see `un [MASK] ##able` "
        "and guess the middle from its neighbours. Google's later BERT release chose **whole words** "
        "instead: every piece of a chosen word is predicted. Write that rule. Each word is chosen with "
        "probability `mlm_probability`; every piece of a chosen word gets a label, and each chosen piece "
        "then follows the 80 / 10 / 10 rule. The hidden tests check fixed cases, padding and special "
        "tokens, and measure the shares on a large batch, as above."),
    stub='''import torch
from torch import Tensor


def mask_whole_words(input_ids: Tensor, word_ids: Tensor, mask_token_id: int, vocab_size: int,
                     generator: torch.Generator | None = None,
                     mlm_probability: float = 0.15) -> tuple[Tensor, Tensor]:
    """Whole-word masking. Returns (masked_ids, labels), new tensors shaped like input_ids.

    input_ids: (batch, n) token ids. word_ids: (batch, n), the index of the word each piece belongs
    to within its row (0, 1, 2, ...), and -1 at [CLS], [SEP] and [PAD], which are never chosen.
    Each word is chosen with probability mlm_probability, and then all of its pieces are. labels hold
    the original id at chosen pieces and -100 elsewhere. Each chosen piece independently becomes
    mask_token_id (80%), a random id in [0, vocab_size) (10%) or stays as it is (10%). Draw all
    random numbers with `generator`; do not change input_ids.
    """
    raise NotImplementedError("write the body of mask_whole_words")
''',
    after='''pieces = ["[CLS]", "un", "##believ", "##able", "story", "tel", "##ling", "[SEP]"]
example_ids = torch.tensor([[2, 71, 72, 73, 81, 91, 92, 3]])   # toy ids: [MASK] is 4
example_words = torch.tensor([[-1, 0, 0, 0, 1, 2, 2, -1]])     # un ##believ ##able = word 0, tel ##ling = word 2
masked, labels = mask_whole_words(example_ids, example_words, mask_token_id=4, vocab_size=100,
                                  generator=torch.Generator().manual_seed(4), mlm_probability=0.5)
for piece, new_id, label in zip(pieces, masked[0].tolist(), labels[0].tolist()):
    print(f"{piece:9} -> {'[MASK]' if new_id == 4 else new_id:>6}   label {label}")''',
    hints=("Draw one random number per word, not per piece: for a (batch, n) input, draw (batch, number of "
           "words) numbers and look each piece's word up with torch.gather (clamp the -1s to 0 first, and "
           "exclude them afterwards).",
           "Then the rule of mask_tokens applies to the chosen pieces: labels = torch.where(chosen, input_ids, "
           "-100); one more draw per piece decides [MASK] (< 0.8), random (< 0.9) or unchanged."),
    time_limit_s=10.0,
    tests=(
        Test("fixed: with mlm_probability=1, every piece of every word is labelled", "fixed",
             lambda: _example(1.0), LABELS,
             "Every word is chosen, so labels equal input_ids except at word id -1, where they are -100.", _show),
        Test("fixed: with mlm_probability=0, nothing changes", "fixed", lambda: _example(0.0),
             LABELS, "No word is chosen: masked_ids equal input_ids and every label is -100.",
             _show),
        Test("edge: [CLS], [SEP] and [PAD] are never chosen", "edge", lambda: _example(1.0, seed=5),
             all_of(LABELS, _never_special),
             "Positions with word id -1 are not words: exclude them before choosing.", _show),
        Test("edge: a batch of one row without any word", "edge",
             lambda: {**_example(1.0), "input_ids": torch.tensor([[CLS, SEP, PAD]]),
                      "word_ids": torch.tensor([[-1, -1, -1]])},
             LABELS, "With no word at all, labels are all -100 (and nothing may crash).", _show),
        Test("property: a word is chosen whole or not at all", "property", lambda: _big_batch(0.15, seed=7),
             all_of(_pair, _whole_words),
             "Decide once per word, then spread the decision to all of its pieces.", _show),
        Test("property: about 15% of the words are chosen", "property", lambda: _big_batch(0.15, seed=8),
             SHARE, "Choose words (not pieces) with probability mlm_probability.", _show),
        Test("property: mlm_probability=0.4 chooses about 40% of the words", "property",
             lambda: _big_batch(0.4, seed=9), SHARE,
             "Use the mlm_probability argument rather than a fixed 0.15.", _show),
        Test("property: chosen pieces are 80% [MASK], 10% random, 10% unchanged", "property",
             lambda: _big_batch(0.5, seed=10), all_of(_pair, _eighty_ten_ten),
             "One more uniform draw per piece: below 0.8 → mask_token_id, 0.8 to 0.9 → a random id, else keep.",
             _show),
    ),
)]
