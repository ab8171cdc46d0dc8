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

The instructor's report has no live objects, but it must not take a submitted "correct" flag
on trust. So a function may also name its *reference values*: what the objects the course's
own notebooks hand over give, in every profile (`@references_for(function)`). The report
accepts an answer that matches one of them; without references the flag is taken as
submitted, and the report says so.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import SimpleNamespace
from typing import Any

from bertcourse.course.errors import CourseError


@dataclass(frozen=True)
class ComputedAnswer:
    """A registered answer function and the names of the live values it needs."""

    name: str
    function: Callable[..., float]
    needs: tuple[str, ...]
    arguments: frozenset[str]
    references: list[Callable[..., tuple[float, ...]]] = field(default_factory=list)

    def __call__(self, live_values: dict[str, Any], args: dict[str, Any]) -> float:
        return float(self.function(*(live_values[name] for name in self.needs), **args))

    def reference_values(self, args: dict[str, Any]) -> tuple[float, ...] | None:
        """The values the course's own live objects give for these `args`, or None when
        this function has no references (or they cannot be computed on this machine)."""
        if not self.references:
            return None
        try:
            return _cached_references(self.name, json.dumps(args, sort_keys=True))
        except CourseError:
            return None


REGISTRY: dict[str, ComputedAnswer] = {}


def references_for(function: Callable[..., float]) -> Callable[[Callable[..., tuple[float, ...]]], Any]:
    """Register a provider of reference values for the computed `function`; the provider
    takes the same keyword-only bank arguments."""
    def register(provider: Callable[..., tuple[float, ...]]) -> Callable[..., tuple[float, ...]]:
        REGISTRY[function.__name__].references.append(provider)
        return provider
    return register


@cache
def _cached_references(name: str, args_json: str) -> tuple[float, ...]:
    args = json.loads(args_json)
    return tuple(value for provider in REGISTRY[name].references for value in provider(**args))


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


@references_for(token_count)
def _course_token_counts(*, sentence: str) -> tuple[float, ...]:
    """Every profile's tokenizer is bert-base-uncased's WordPiece (MiniLM ships the same
    vocabulary), so one count serves all; it is taken from the offline MiniLM tokenizer."""
    from transformers import AutoTokenizer

    from bertcourse.course.minilm import verified_model_dir
    return (token_count(AutoTokenizer.from_pretrained(verified_model_dir()), sentence=sentence),)


@references_for(bert_parameters_millions)
def _course_parameter_counts() -> tuple[float, ...]:
    """The configs the notebooks hand over: the encoder that serves bert-base-uncased
    (MiniLM on the laptop profile, BERT-Base on gpu), and the distilled student that keeps
    every other layer of it. Which of them a learner had is not in the export, so any counts."""
    from bertcourse.course.minilm import verified_model_dir
    from bertcourse.model_specs import bert_config
    minilm = json.loads((verified_model_dir() / "config.json").read_text(encoding="utf-8"))
    configs = [SimpleNamespace(**minilm), bert_config("base")]
    students = [SimpleNamespace(**(vars(c) | {"num_hidden_layers": math.ceil(c.num_hidden_layers / 2)}))
                for c in configs]
    return tuple(bert_parameters_millions(config) for config in configs + students)
