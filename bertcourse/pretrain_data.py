"""Lesson 03's pretraining data: documents to token ids, NSP pairs packed into length-grouped
batches, masked batch by batch (a fresh masking each epoch), and fixed held-out batches.

The ideas (pairs, packing, the masking rule) are `bertcourse.pretraining`'s; this module feeds them
to the loop in `bertcourse.pretrain_loop`. The masking rule is a parameter (`masking`, default
`pretraining.mask_tokens`), so notebook 03 hands in the `mask_tokens` of its own cell and a learner
who edits that cell changes what the model trains on.

Room: a lesson module (lesson 03).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import torch

from bertcourse.pretrain_settings import PretrainSettings
from bertcourse.pretraining import collate, make_nsp_pairs, mask_tokens, pair_to_features


def tokenize_documents(documents: Sequence[Sequence[str]], tokenizer: Any) -> list[list[list[int]]]:
    """Documents of sentences -> documents of token-id lists (no special tokens yet)."""
    sentences = [sentence for document in documents for sentence in document]
    ids = tokenizer(sentences, add_special_tokens=False)["input_ids"] if sentences else []
    out, start = [], 0
    for document in documents:
        out.append([list(piece) for piece in ids[start:start + len(document)] if piece])
        start += len(document)
    return [document for document in out if len(document) > 1]


def length_grouped_batches(features: list[dict], batch_size: int, rng: random.Random,
                           group: int = 50) -> list[list[dict]]:
    """Shuffle, sort each run of `group` batches' worth by length, cut into batches, shuffle them:
    examples of similar length share a batch, so padding to the longest wastes little."""
    features = list(features)
    rng.shuffle(features)
    batches = []
    for start in range(0, len(features), batch_size * group):
        chunk = sorted(features[start:start + batch_size * group], key=lambda f: len(f["input_ids"]))
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def masking_seed(seed: int, epoch: int, index: int) -> int:
    """Each batch's masks depend only on (seed, epoch, batch index): a resumed run masks the
    same tokens as an uninterrupted one, and every GPU process masks its own batches."""
    return (seed * 1_000_003 + epoch) * 1_000_003 + index


Masking = Callable[..., tuple[torch.Tensor, torch.Tensor]]
"""A masking rule with `mask_tokens`' signature: (input_ids, tokenizer, generator, mlm_probability)
-> (masked input ids, labels with -100 at unchosen positions)."""


def make_batch(features: list[dict], tokenizer: Any, seed: int, mlm_probability: float = 0.15,
               pad_to: int | None = None, pad_multiple: int = 8, masking: Masking = mask_tokens) -> dict[str, torch.Tensor]:
    """Collate and mask one batch with `masking` (masks drawn from a generator seeded with `seed`)."""
    if pad_to is None and pad_multiple > 1:
        longest = max(len(f["input_ids"]) for f in features)
        pad_to = -(-longest // pad_multiple) * pad_multiple
    batch = collate(features, tokenizer.pad_token_id, pad_to=pad_to)
    generator = torch.Generator().manual_seed(seed)
    batch["input_ids"], batch["labels"] = masking(batch["input_ids"], tokenizer, generator, mlm_probability)
    return batch


class EpochBatches(torch.utils.data.Dataset):
    """The batches of one epoch: fresh NSP pairs (seeded by epoch), grouped by length; masking
    happens when a batch is loaded, so each epoch sees new masks (RoBERTa's dynamic masking)."""

    def __init__(self, documents: list, tokenizer: Any, settings: PretrainSettings, epoch: int,
                 masking: Masking = mask_tokens) -> None:
        seed = masking_seed(settings.seed, epoch, 0)
        pairs = make_nsp_pairs(documents, settings.max_length, seed=seed)
        features = [pair_to_features(p, tokenizer.cls_token_id, tokenizer.sep_token_id) for p in pairs]
        self.batches = length_grouped_batches(features, settings.batch_size, random.Random(seed))
        self.tokenizer, self.settings, self.epoch, self.masking = tokenizer, settings, epoch, masking

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> tuple[int, list[dict]]:
        return index, self.batches[index]

    def collate(self, items: list[tuple[int, list[dict]]]) -> dict[str, torch.Tensor]:
        index, features = items[0]
        return make_batch(features, self.tokenizer, masking_seed(self.settings.seed, self.epoch, index + 1),
                          self.settings.mlm_probability, masking=self.masking)


def make_eval_batches(documents: list, tokenizer: Any, max_length: int, pairs: int = 1000, batch_size: int = 64,
                      seed: int = 12345, masking: Masking = mask_tokens) -> list[dict[str, torch.Tensor]]:
    """Fixed held-out batches of `pairs` NSP pairs, masked once, so every evaluation scores the same task.
    A small held-out set is sampled several times (different pairings and masks) to reach `pairs`."""
    features: list[dict] = []
    for r in range(100):
        sample = make_nsp_pairs(documents, max_length, seed=seed + r)
        features += [pair_to_features(p, tokenizer.cls_token_id, tokenizer.sep_token_id) for p in sample]
        if len(features) >= pairs or not sample:
            break
    features = sorted(features[:pairs], key=lambda f: len(f["input_ids"]))
    return [make_batch(features[i:i + batch_size], tokenizer, seed + i, masking=masking)
            for i in range(0, len(features), batch_size)]
