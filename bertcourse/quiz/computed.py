"""Answers computed at display time from the learner's live notebook objects.

A "computed" question names one of the functions registered here (`compute: token_count`)
and passes it fixed, bank-side keyword arguments (`args: {sentence: ...}`). The function's
positional parameters are *live values* the notebook hands to `quiz(...)`, e.g.
`quiz("01_tokenization", tokenizer=tok)`. Because the answer depends on the learner's own
objects, nothing about it is stored in the bank, so there is nothing to hash.

To add one: write a function whose positional parameters are the live values it needs and
whose keyword-only parameters are the bank arguments, returning a number; decorate it with
`@computed`. Bank loading checks that `compute` names a registered function and that `args`
match its keyword-only parameters.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ComputedAnswer:
    """A registered answer function and the names of the live values it needs."""

    name: str
    function: Callable[..., float]
    needs: tuple[str, ...]
    arguments: frozenset[str]

    def __call__(self, live_values: dict[str, Any], args: dict[str, Any]) -> float:
        return float(self.function(*(live_values[name] for name in self.needs), **args))


REGISTRY: dict[str, ComputedAnswer] = {}


def computed(function: Callable[..., float]) -> Callable[..., float]:
    """Register `function` under its own name (see the module docstring for the contract)."""
    parameters = inspect.signature(function).parameters.values()
    REGISTRY[function.__name__] = ComputedAnswer(
        name=function.__name__,
        function=function,
        needs=tuple(p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD),
        arguments=frozenset(p.name for p in parameters if p.kind is p.KEYWORD_ONLY),
    )
    return function


@computed
def token_count(tokenizer: Any, *, sentence: str) -> float:
    """Length of `input_ids` for `sentence`, special tokens ([CLS], [SEP]) included,
    exactly as the model would receive it."""
    return len(tokenizer(sentence)["input_ids"])


@computed
def bert_parameters_millions(config: Any) -> float:
    """Parameters of `transformers.BertModel(config)` (with pooler), in millions.

    Counted from the config instead of instantiating the model, so BERT-Large's 335M
    parameters cost no memory or time; tests check it against a real `BertModel`.
    """
    hidden = config.hidden_size
    inner = config.intermediate_size
    layer_norm = 2 * hidden
    embeddings = (config.vocab_size + config.max_position_embeddings + config.type_vocab_size) * hidden
    attention = 4 * (hidden * hidden + hidden)  # query, key, value and output projections
    feed_forward = (hidden * inner + inner) + (inner * hidden + hidden)
    layer = attention + feed_forward + 2 * layer_norm
    pooler = hidden * hidden + hidden
    total = embeddings + layer_norm + config.num_hidden_layers * layer + pooler
    return total / 1e6
