"""BERT's sizes computed, not quoted (notebook 02).

`bert_config("base" | "large")` builds the published configurations of Devlin et al. (2019)
without downloading anything; `meta_model` instantiates a `BertModel` on PyTorch's "meta"
device, where tensors have shapes but no storage, so even BERT-Large's 335M parameters cost
no memory or time to count. `parameter_breakdown` groups a model's parameters by component,
and `formula_breakdown` derives the same numbers from the configuration alone, so the
notebook can check the arithmetic against the real module tree.

Room: a lesson module; imports `bertcourse.course` and other lesson modules, never tools or quiz.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch
from transformers import BertConfig, BertModel

# The two sizes of the BERT paper (Devlin et al., 2019, section 3): L layers, H hidden, A heads,
# feed-forward inner size 4H, 30,522 WordPiece vocabulary, 512 positions, 2 segments.
BERT_SIZES: dict[str, dict[str, int]] = {
    "base": {"num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072},
    "large": {"num_hidden_layers": 24, "hidden_size": 1024, "num_attention_heads": 16, "intermediate_size": 4096},
}

COMPONENTS = [
    "token embeddings",
    "position embeddings",
    "segment embeddings",
    "embedding LayerNorm",
    "attention Q, K, V",
    "attention output",
    "attention LayerNorm",
    "feed-forward",
    "feed-forward LayerNorm",
    "pooler",
]


def bert_config(size: str) -> BertConfig:
    """The BertConfig of BERT-Base or BERT-Large (uncased vocabulary of 30,522 pieces)."""
    if size not in BERT_SIZES:
        raise ValueError(f"size must be one of {', '.join(BERT_SIZES)}, not {size!r}")
    return BertConfig(vocab_size=30522, max_position_embeddings=512, type_vocab_size=2, **BERT_SIZES[size])


def meta_model(config: BertConfig) -> BertModel:
    """A `BertModel(config)` whose tensors live on the meta device: real shapes, no memory, no download."""
    with torch.device("meta"):
        return BertModel(config)


def count_parameters(model: torch.nn.Module) -> int:
    """Number of scalar parameters (trainable or not) in `model`; a weight shared by two modules
    (BERT's MLM output matrix is tied to the token embeddings) counts once, as `parameters()`
    yields it once. The one parameter count of the course (lessons 02, 03 and 07)."""
    return sum(parameter.numel() for parameter in model.parameters())


def component_of(name: str) -> str:
    """Which of `COMPONENTS` the BertModel parameter called `name` belongs to."""
    rules = [
        ("embeddings.word_embeddings", "token embeddings"),
        ("embeddings.position_embeddings", "position embeddings"),
        ("embeddings.token_type_embeddings", "segment embeddings"),
        ("embeddings.LayerNorm", "embedding LayerNorm"),
        ("attention.self.", "attention Q, K, V"),
        ("attention.output.dense", "attention output"),
        ("attention.output.LayerNorm", "attention LayerNorm"),
        ("intermediate.dense", "feed-forward"),
        ("output.dense", "feed-forward"),
        ("output.LayerNorm", "feed-forward LayerNorm"),
        ("pooler.", "pooler"),
    ]
    for pattern, component in rules:
        if pattern in name:
            return component
    raise ValueError(f"parameter {name!r} belongs to no known BERT component")


def parameter_breakdown(model: torch.nn.Module) -> pd.Series:
    """Parameters per component (in `COMPONENTS` order), counted from the module tree.

    Accepts a `BertModel` or a model that wraps one as `.bert` (heads are not counted)."""
    model = getattr(model, "bert", model)
    counts = dict.fromkeys(COMPONENTS, 0)
    for name, parameter in model.named_parameters():
        counts[component_of(name)] += parameter.numel()
    return pd.Series(counts, name="parameters")


def formula_breakdown(config: Any) -> pd.Series:
    """The same breakdown from the configuration alone (V vocabulary, P positions, S segments,
    H hidden, F feed-forward inner size, L layers; every Linear has a bias, every LayerNorm γ and β)."""
    V, P, S = config.vocab_size, config.max_position_embeddings, config.type_vocab_size
    H, F, L = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    counts = {
        "token embeddings": V * H,
        "position embeddings": P * H,
        "segment embeddings": S * H,
        "embedding LayerNorm": 2 * H,
        "attention Q, K, V": L * 3 * (H * H + H),
        "attention output": L * (H * H + H),
        "attention LayerNorm": L * 2 * H,
        "feed-forward": L * ((H * F + F) + (F * H + H)),
        "feed-forward LayerNorm": L * 2 * H,
        "pooler": H * H + H,
    }
    return pd.Series(counts, name="parameters")


def breakdown_table(breakdowns: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Side-by-side breakdowns ({model name: per-component counts}) in millions, with a total row
    and each component's share of its model."""
    millions = pd.DataFrame({name: counts / 1e6 for name, counts in breakdowns.items()})
    millions.loc["total"] = millions.sum()
    shares = 100 * millions / millions.loc["total"]
    columns = {}
    for name in breakdowns:
        columns[(name, "M params")] = millions[name].round(2)
        columns[(name, "%")] = shares[name].round(1)
    return pd.DataFrame(columns)


def spec_table(configs: Mapping[str, Any]) -> pd.DataFrame:
    """Layers, hidden size, heads, head size, feed-forward size and parameters of each config,
    the parameters counted on a meta-device model."""
    rows = {}
    for name, config in configs.items():
        rows[name] = {
            "layers (L)": config.num_hidden_layers,
            "hidden (H)": config.hidden_size,
            "heads (A)": config.num_attention_heads,
            "head size (H/A)": config.hidden_size // config.num_attention_heads,
            "feed-forward": config.intermediate_size,
            "parameters": count_parameters(meta_model(config)),
        }
    table = pd.DataFrame(rows).T
    table["parameters (M)"] = (table["parameters"] / 1e6).round(1)
    return table
