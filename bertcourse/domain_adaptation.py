"""Why domain-specific BERTs exist, and the recipe that makes one (notebook 06).

Two measurements and one recipe:
- how a general-purpose WordPiece vocabulary shreds biomedical words into many pieces
  (`subword_counts`, `fragmentation_table`, `plot_fragmentation`);
- how much a masked-language model is surprised by a text (`masked_lm_loss` on fixed masks);
- BioBERT's recipe: keep pretraining a general encoder with masked-language modelling on
  biomedical text, then fine-tune it (`corpus_blocks`, `masked_lm_with_head`,
  `make_mlm_trainer`, `default_adaptation_settings`), with a masked-language model that runs its
  vocabulary-sized output layer only where a token was masked (`MaskedOnlyBertForMaskedLM`).

The laptop stand-in (MiniLM) was trained for sentence embeddings and ships without the MLM
head, so `masked_lm_with_head` reports which head weights start from random values.

Room: a lesson module. It imports `bertcourse.course`, `bertcourse.training` (the shared Trainer
arguments) and `bertcourse.pretraining` (notebook 03's masked-positions-only MLM output).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from transformers import BertForMaskedLM, DataCollatorForLanguageModeling, Trainer
from transformers.modeling_outputs import MaskedLMOutput

from bertcourse.course.profiles import recipe_for
from bertcourse.course.resources import load_model
from bertcourse.pretraining import masked_token_logits
from bertcourse.training import Recipe, training_arguments


def subword_counts(tokenizer: Any, words: Sequence[str]) -> list[int]:
    """How many WordPiece tokens each word becomes (no [CLS]/[SEP])."""
    return [len(tokenizer.tokenize(word)) for word in words]


def fragmentation_table(tokenizer: Any, word_lists: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Per word list: words, mean subwords per word, share kept whole, share cut into 3+ pieces."""
    rows = {}
    for name, words in word_lists.items():
        counts = np.asarray(subword_counts(tokenizer, words))
        rows[name] = {"words": len(counts), "subwords per word": counts.mean(),
                      "kept whole": (counts == 1).mean(), "3+ pieces": (counts >= 3).mean()}
    table = pd.DataFrame(rows).T
    table["words"] = table["words"].astype(int)
    return table.round(2)


def plot_fragmentation(tokenizer: Any, word_lists: Mapping[str, Sequence[str]], ax: Axes | None = None,
                       most: int = 5, title: str = "How many pieces a word becomes") -> Figure:
    """Grouped bars: the share of words cut into 1, 2, ..., `most`+ subwords, one bar per list."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.2))
    bins = np.arange(1, most + 1)
    width = 0.8 / len(word_lists)
    hatches = ["", "//", "..", "xx"]
    for index, (name, words) in enumerate(word_lists.items()):
        counts = np.minimum(subword_counts(tokenizer, words), most)
        shares = [(counts == size).mean() for size in bins]
        ax.bar(bins + (index - (len(word_lists) - 1) / 2) * width, shares, width, label=name,
               hatch=hatches[index % len(hatches)], edgecolor="black", linewidth=0.5)
    ax.set_xticks(bins, [str(size) for size in bins[:-1]] + [f"{most}+"])
    ax.set_xlabel("subword tokens per word")
    ax.set_ylabel("share of words")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


@dataclass(frozen=True, kw_only=True)
class AdaptationSettings(Recipe):
    """Continued masked-language-model pretraining on in-domain text (the BioBERT step). Blocks
    all have the same length, so grouping them by length would change nothing: it is off."""

    block_size: int  # tokens per training sequence ([CLS] and [SEP] included)
    mlm_probability: float  # share of tokens the model must reconstruct (BERT: 15%)
    group_by_length: bool = False


# MiniLM on the course's ~17k-word biomedical corpus: its MLM head starts random and must learn in ~100
# updates, so a larger step than BERT-Base's (measured on data/bio_corpus: after 4 epochs the validation
# MLM loss was 7.0 at 1e-4 for 3 epochs, 6.4 at 2e-4 and 6.2 at 5e-4; 2e-4 spares the encoder the largest
# step), on short blocks (the corpus is sentences, not long documents).
MINILM_ADAPTATION = AdaptationSettings(block_size=64, mlm_probability=0.15,
                                       learning_rate=2e-4, epochs=4, batch_size=16, warmup_ratio=0.1)
# BERT-Base on the GENIA abstracts (~0.5M words): one pass, the usual continued-pretraining step.
BERT_BASE_ADAPTATION = AdaptationSettings(block_size=128, mlm_probability=0.15,
                                          learning_rate=5e-5, epochs=1, batch_size=32, warmup_ratio=0.06)


def default_adaptation_settings(checkpoint: str = "bert-base-cased") -> AdaptationSettings:
    """The recipe for whatever serves `checkpoint` in the active profile."""
    return recipe_for(checkpoint, MINILM_ADAPTATION, BERT_BASE_ADAPTATION)


def corpus_blocks(documents: Sequence[Sequence[str]], tokenizer: Any, block_size: int) -> datasets.Dataset:
    """Cut a corpus into equal blocks for MLM: every document's tokens, one after the other, in
    slices of `block_size - 2`, each wrapped as `[CLS] ... [SEP]`. Equal lengths mean no padding
    is wasted; a block may span two documents, as in BERT's own pretraining data."""
    sentences = [sentence for document in documents for sentence in document]
    stream = [token for ids in tokenizer(sentences, add_special_tokens=False)["input_ids"] for token in ids]
    body = block_size - 2
    blocks = [[tokenizer.cls_token_id, *stream[start:start + body], tokenizer.sep_token_id]
              for start in range(0, len(stream) - body + 1, body)]
    return datasets.Dataset.from_dict({
        "input_ids": blocks,
        "attention_mask": [[1] * block_size for _ in blocks],
        "special_tokens_mask": [[1, *[0] * body, 1] for _ in blocks],
    })


class MaskedOnlyBertForMaskedLM(BertForMaskedLM):
    """BERT's masked-language model, computing the vocabulary-sized output only where it is needed.

    The stock model scores all 30,522 vocabulary entries at *every* position and then ignores the
    85% of positions whose label is -100. On a CPU that output layer costs about as much as the
    whole encoder, so with `labels` this forward pass runs the MLM head on the masked positions
    only: same loss, same weights (so `save_pretrained` and `from_pretrained` are unchanged), a
    training step about 40% cheaper. Without `labels` (e.g. in a fill-mask pipeline) it is the
    stock model."""

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **kwargs):
        if labels is None:
            return super().forward(input_ids=input_ids, attention_mask=attention_mask,
                                   token_type_ids=token_type_ids, **kwargs)
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        logits, targets = masked_token_logits(self.cls, hidden, labels)   # (masked positions, vocabulary)
        return MaskedLMOutput(loss=torch.nn.functional.cross_entropy(logits, targets), logits=logits)


def masked_lm_with_head(checkpoint: str) -> tuple[Any, list[str]]:
    """A masked-language model for `checkpoint`, and the names of the weights that were not in the
    checkpoint and so start random (for MiniLM: the MLM head's transform and output bias; the
    output matrix itself is tied to the pretrained input embeddings)."""
    model, info = load_model(checkpoint, MaskedOnlyBertForMaskedLM, output_loading_info=True)
    return model, sorted(info["missing_keys"])


def mlm_collator(tokenizer: Any, settings: AdaptationSettings, seed: int = 0) -> DataCollatorForLanguageModeling:
    """BERT's masking rule, from the library: pick 15% of tokens; of those 80% become [MASK], 10% a
    random token, 10% stay; labels are -100 everywhere else. Seeded, so runs repeat."""
    return DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=settings.mlm_probability,
                                           seed=seed)


def fixed_masked_batches(blocks: datasets.Dataset, collator: DataCollatorForLanguageModeling,
                         batch_size: int = 32) -> list[dict[str, torch.Tensor]]:
    """Mask an evaluation set once, so losses measured before and after training use the very
    same hidden tokens and can be compared."""
    rows = [dict(row) for row in blocks]
    return [collator(rows[start:start + batch_size]) for start in range(0, len(rows), batch_size)]


@torch.no_grad()
def masked_lm_loss(model: Any, batches: Sequence[Mapping[str, torch.Tensor]]) -> float:
    """Mean cross-entropy over the masked positions of `batches` (lower: less surprised).
    exp(loss) is the perplexity: how many tokens the model is effectively choosing between."""
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for batch in batches:
        inputs = {key: value.to(device) for key, value in batch.items()}
        masked = int((inputs["labels"] != -100).sum())
        total += float(model(**inputs).loss) * masked
        count += masked
    return total / max(count, 1)


def make_mlm_trainer(model: Any, tokenizer: Any, settings: AdaptationSettings, train_blocks: datasets.Dataset,
                     output_dir: str | Path, **overrides: Any) -> Trainer:
    """A Trainer that continues masked-language-model pretraining on `train_blocks`, with the
    course's shared Trainer arguments (no evaluation pass: notebook 06 measures on fixed masks)."""
    arguments = training_arguments(settings, output_dir, **{"eval_strategy": "no", "disable_tqdm": True, **overrides})
    return Trainer(model=model, args=arguments, train_dataset=train_blocks,
                   data_collator=mlm_collator(tokenizer, settings), processing_class=tokenizer)
