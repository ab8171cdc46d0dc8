"""Parameter counts computed from configurations agree with real BertModels and with the quiz."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertModel

from bertcourse.model_specs import (
    COMPONENTS,
    bert_config,
    breakdown_table,
    component_of,
    count_parameters,
    formula_breakdown,
    meta_model,
    parameter_breakdown,
    spec_table,
)
from bertcourse.quiz.computed import bert_parameters_millions

TINY = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=3, num_attention_heads=4, intermediate_size=40,
                  max_position_embeddings=20, type_vocab_size=3)


def test_published_sizes() -> None:
    base, large = bert_config("base"), bert_config("large")
    assert (base.num_hidden_layers, base.hidden_size, base.num_attention_heads, base.intermediate_size) == (12, 768, 12, 3072)
    assert (large.num_hidden_layers, large.hidden_size, large.num_attention_heads, large.intermediate_size) == (24, 1024, 16, 4096)
    assert base.vocab_size == large.vocab_size == 30522
    with pytest.raises(ValueError, match="base, large"):
        bert_config("huge")


def test_meta_models_allocate_nothing_and_count_the_known_totals() -> None:
    base = meta_model(bert_config("base"))
    assert all(parameter.device == torch.device("meta") for parameter in base.parameters())
    assert count_parameters(base) == 109_482_240
    assert count_parameters(meta_model(bert_config("large"))) == 335_141_888


@pytest.mark.parametrize("config", [bert_config("base"), bert_config("large"), TINY], ids=["base", "large", "tiny"])
def test_formula_matches_the_module_tree_component_by_component(config: BertConfig) -> None:
    counted = parameter_breakdown(meta_model(config))
    assert counted.index.tolist() == COMPONENTS
    assert counted.equals(formula_breakdown(config))
    assert counted.sum() == count_parameters(meta_model(config))


@pytest.mark.parametrize("config", [bert_config("base"), bert_config("large"), TINY], ids=["base", "large", "tiny"])
def test_formula_agrees_with_the_quiz_answer(config: BertConfig) -> None:
    assert formula_breakdown(config).sum() / 1e6 == pytest.approx(bert_parameters_millions(config))


def test_breakdown_of_a_wrapped_encoder_leaves_the_head_out() -> None:
    torch.manual_seed(0)
    classifier = BertForSequenceClassification(BertConfig(**TINY.to_dict(), num_labels=3))
    assert parameter_breakdown(classifier).equals(parameter_breakdown(BertModel(TINY)))
    assert count_parameters(classifier) == parameter_breakdown(classifier).sum() + 3 * 16 + 3


def test_unknown_parameter_names_are_an_error() -> None:
    assert component_of("encoder.layer.3.attention.output.dense.weight") == "attention output"
    assert component_of("encoder.layer.3.output.dense.weight") == "feed-forward"
    with pytest.raises(ValueError, match="no known BERT component"):
        component_of("cls.predictions.bias")


def test_tables() -> None:
    table = breakdown_table({"tiny": formula_breakdown(TINY)})
    assert table.loc["total", ("tiny", "%")] == 100.0
    assert table.loc["total", ("tiny", "M params")] == round(formula_breakdown(TINY).sum() / 1e6, 2)
    specs = spec_table({"tiny": TINY})
    assert specs.loc["tiny", "head size (H/A)"] == 4 and specs.loc["tiny", "parameters"] == formula_breakdown(TINY).sum()
