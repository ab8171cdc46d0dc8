"""The ideas of BERT pretraining, as notebook 03 shows them.

The definitions below appear verbatim in notebook 03 cells marked `#@save bertcourse.pretraining`
(`tests/test_saved_cells.py` keeps the two copies identical), so the learner reads and can change
exactly the code that `bertcourse pretrain` and `benchmarks/pretraining_speed.py` run:

- next-sentence-prediction pairs from documents (`make_nsp_pairs`, `truncate_pair`),
- packing a pair as `[CLS] A [SEP] B [SEP]` with segment ids (`pair_to_features`, `collate`),
- the masking rule: 15% of ordinary tokens, of those 80% `[MASK]`, 10% random, 10% unchanged
  (`mask_tokens`, measured by `masking_statistics`),
- the loss `L = L_MLM + L_NSP`, with vocabulary logits computed only at the masked positions
  (`pretraining_loss`).

The loop, its batches, settings and checkpoints live in `bertcourse.pretrain_loop` and its siblings.

Room: a lesson module; imports `bertcourse.course` and other lesson modules, never tools or quiz.
"""

from __future__ import annotations

import random
from typing import NamedTuple

import torch
import torch.nn.functional as F

# Written out for the learner in notebook 03_pretraining's `#@save` cells; tests/test_saved_cells.py
# checks both ways (each name has its cell, each cell's definition is listed here), and
# `bertcourse dev sync-saved` rewrites the cells from this module.
SAVED_IN_NOTEBOOK = dict.fromkeys((
    "truncate_pair",
    "make_nsp_pairs",
    "pair_to_features",
    "collate",
    "mask_tokens",
    "masking_statistics",
    "PretrainingLoss",
    "masked_token_logits",
    "pretraining_loss",
), "03_pretraining")

IS_NEXT, NOT_NEXT = 0, 1  # BertForPreTraining's next_sentence_label: 0 = B follows A, 1 = B is random


def truncate_pair(tokens_a, tokens_b, max_tokens):
    """Trim the longer segment from its end until both fit in `max_tokens` together
    (BERT's `truncate_seq_pair`: trimming the longer one keeps some of each)."""
    a, b = list(tokens_a), list(tokens_b)
    while len(a) + len(b) > max_tokens:
        (a if len(a) > len(b) else b).pop()
    return a, b


def make_nsp_pairs(documents, max_length=128, seed=0):
    """Sentence pairs for next-sentence prediction, packed to fill `max_length`, BERT's way.

    `documents`: a list of documents, each a list of sentences already tokenized to ids.
    Segment A takes consecutive sentences up to about half the room; then, with probability 1/2,
    B is the sentences that really follow A (IsNext), otherwise sentences starting at a random
    place in another document (NotNext). B is filled with whole sentences up to the room left.
    """
    rng = random.Random(seed)
    room = max_length - 3  # leave space for [CLS] A [SEP] B [SEP]
    pairs = []
    for d, doc in enumerate(documents):
        i = 0
        while i < len(doc) - 1:  # A must be followed by at least one sentence
            a, j = list(doc[i]), i + 1
            while j < len(doc) - 1 and len(a) + len(doc[j]) <= room // 2:
                a += doc[j]
                j += 1
            if rng.random() < 0.5:
                label, source, k = IS_NEXT, doc, j
            else:
                other = rng.randrange(len(documents) - 1)
                source = documents[other + (other >= d)]  # any document except this one
                label, k = NOT_NEXT, rng.randrange(len(source))
            b, k = list(source[k]), k + 1
            while k < len(source) and len(a) + len(b) + len(source[k]) <= room:
                b += source[k]
                k += 1
            a, b = truncate_pair(a, b, room)
            pairs.append({"tokens_a": a, "tokens_b": b, "next_sentence_label": label})
            i = k if label == IS_NEXT else j  # a NotNext pair leaves A's real continuation for later
    return pairs


def pair_to_features(pair, cls_id, sep_id):
    """`[CLS] A [SEP] B [SEP]`, with segment ids 0 for `[CLS] A [SEP]` and 1 for `B [SEP]`."""
    a, b = pair["tokens_a"], pair["tokens_b"]
    return {"input_ids": [cls_id, *a, sep_id, *b, sep_id],
            "token_type_ids": [0] * (len(a) + 2) + [1] * (len(b) + 1),
            "next_sentence_label": pair["next_sentence_label"]}


def collate(features, pad_id, pad_to=None):
    """A batch of tensors, padded to its longest example (or to `pad_to`); the attention mask
    is 1 on real tokens and 0 on padding, so attention ignores the padding."""
    length = pad_to or max(len(f["input_ids"]) for f in features)

    def padded(key, value):
        return torch.tensor([f[key] + [value] * (length - len(f[key])) for f in features])

    return {"input_ids": padded("input_ids", pad_id),
            "token_type_ids": padded("token_type_ids", 0),
            "attention_mask": torch.tensor([[1] * len(f["input_ids"]) + [0] * (length - len(f["input_ids"]))
                                            for f in features]),
            "next_sentence_label": torch.tensor([f["next_sentence_label"] for f in features])}


def mask_tokens(input_ids, tokenizer, generator=None, mlm_probability=0.15):
    """BERT's masking rule: choose `mlm_probability` of the ordinary tokens (never [CLS], [SEP],
    [PAD] or another special token); of the chosen, 80% become [MASK], 10% a random token from
    the vocabulary and 10% stay unchanged. Returns (masked input ids, labels), where labels hold
    the original token at chosen positions and -100 ("no loss here") everywhere else."""
    ordinary = ~torch.isin(input_ids, torch.tensor(tokenizer.all_special_ids))
    chosen = (torch.rand(input_ids.shape, generator=generator) < mlm_probability) & ordinary
    labels = torch.where(chosen, input_ids, -100)
    action = torch.rand(input_ids.shape, generator=generator)
    to_mask = chosen & (action < 0.8)
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    random_ids = torch.randint(len(tokenizer), input_ids.shape, generator=generator)
    masked = torch.where(to_mask, tokenizer.mask_token_id, input_ids)
    masked = torch.where(to_random, random_ids, masked)
    return masked, labels


def masking_statistics(original_ids, masked_ids, labels, tokenizer):
    """What a masking actually did: the share of ordinary tokens chosen, of special tokens chosen,
    and how the chosen ones were changed ([MASK], another token, or left as they were)."""
    special = torch.isin(original_ids, torch.tensor(tokenizer.all_special_ids))
    chosen = labels != -100
    became_mask = chosen & (masked_ids == tokenizer.mask_token_id)
    unchanged = chosen & (masked_ids == original_ids)
    n_chosen = chosen.sum().item()
    return {"chosen / ordinary tokens": chosen[~special].float().mean().item(),
            "chosen / special tokens": chosen[special].float().mean().item(),
            "[MASK] / chosen": became_mask.sum().item() / n_chosen,
            "random / chosen": (chosen & ~became_mask & ~unchanged).sum().item() / n_chosen,
            "unchanged / chosen": unchanged.sum().item() / n_chosen}


class PretrainingLoss(NamedTuple):
    """The combined loss and its parts. `mlm_logits` has one row per masked token (not per position),
    `nsp_logits` one row per pair."""

    loss: torch.Tensor
    mlm_loss: torch.Tensor
    nsp_loss: torch.Tensor
    mlm_logits: torch.Tensor
    nsp_logits: torch.Tensor


def masked_token_logits(prediction_head, hidden, labels):
    """Vocabulary logits only where a token was chosen for prediction, with their targets.

    Scoring every position against the whole vocabulary and then ignoring the ~85% labelled -100
    wastes the largest matrix product of a small BERT; gathering the chosen positions first gives
    the same loss for a fraction of the work."""
    chosen = labels != -100
    return prediction_head(hidden[chosen]), labels[chosen]


def pretraining_loss(model, batch):
    """L = L_MLM + L_NSP for a `BertForPreTraining`, scoring the vocabulary only where a label is
    (`model(**batch)` would score every position and give the same loss, slower)."""
    encoded = model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                         token_type_ids=batch["token_type_ids"])
    mlm_logits, mlm_targets = masked_token_logits(model.cls.predictions, encoded.last_hidden_state, batch["labels"])
    nsp_logits = model.cls.seq_relationship(encoded.pooler_output)
    mlm_loss = F.cross_entropy(mlm_logits.float(), mlm_targets)
    nsp_loss = F.cross_entropy(nsp_logits.float(), batch["next_sentence_label"])
    return PretrainingLoss(mlm_loss + nsp_loss, mlm_loss, nsp_loss, mlm_logits, nsp_logits)
