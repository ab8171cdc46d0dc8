"""Vocabulary fragmentation, MLM blocks and masks, and the fresh MLM head on MiniLM (notebook 06)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM

import bertcourse as bc
from bertcourse import domain_adaptation as da


@pytest.fixture(scope="module")
def tokenizer():
    return bc.load_tokenizer("bert-base-cased")


def test_a_general_vocabulary_shreds_biomedical_words(tokenizer):
    general, medical = ["the", "house", "river"], ["glomerulonephritis", "adrenoleukodystrophy", "metformin"]
    assert da.subword_counts(tokenizer, general) == [1, 1, 1]
    assert min(da.subword_counts(tokenizer, medical)) >= 3
    table = da.fragmentation_table(tokenizer, {"general": general, "biomedical": medical})
    assert table.loc["general", "kept whole"] == 1.0 and table.loc["biomedical", "3+ pieces"] == 1.0
    assert table.loc["biomedical", "subwords per word"] > table.loc["general", "subwords per word"]


def test_fragmentation_plot_draws_one_bar_per_list_and_size(tokenizer):
    figure = da.plot_fragmentation(tokenizer, {"a": ["the", "metformin"], "b": ["house"]}, most=4)
    assert len(figure.axes[0].patches) == 2 * 4


def test_corpus_blocks_are_full_and_wrapped(tokenizer):
    documents = [["Metformin lowers blood glucose.", "It is taken by mouth."], ["Insulin is a hormone."] * 6]
    blocks = da.corpus_blocks(documents, tokenizer, block_size=16)
    assert len(blocks) >= 2
    for row in blocks:
        assert len(row["input_ids"]) == 16
        assert row["input_ids"][0] == tokenizer.cls_token_id and row["input_ids"][-1] == tokenizer.sep_token_id
        assert row["special_tokens_mask"] == [1] + [0] * 14 + [1]
        assert tokenizer.cls_token_id not in row["input_ids"][1:-1]


def test_fixed_masks_repeat_and_follow_the_rate(tokenizer):
    documents = [["Chronic kidney disease often follows long-standing hypertension or diabetes."] * 40]
    blocks = da.corpus_blocks(documents, tokenizer, block_size=32)
    settings = da.MINILM_ADAPTATION
    first = da.fixed_masked_batches(blocks, da.mlm_collator(tokenizer, settings), batch_size=8)
    again = da.fixed_masked_batches(blocks, da.mlm_collator(tokenizer, settings), batch_size=8)
    assert all(torch.equal(a["input_ids"], b["input_ids"]) for a, b in zip(first, again, strict=True))
    labels = torch.cat([batch["labels"] for batch in first])
    assert 0.10 < (labels != -100).float().mean() < 0.20
    assert (labels[:, 0] == -100).all() and (labels[:, -1] == -100).all()   # [CLS]/[SEP] are never masked


def test_masked_lm_loss_of_an_untrained_head_is_near_uniform(tokenizer):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32)
    model = BertForMaskedLM(config)
    blocks = da.corpus_blocks([["Asthma is a chronic inflammatory disease of the airways."] * 20], tokenizer, 32)
    batches = da.fixed_masked_batches(blocks, da.mlm_collator(tokenizer, da.MINILM_ADAPTATION))
    loss = da.masked_lm_loss(model, batches)
    assert abs(loss - torch.log(torch.tensor(float(tokenizer.vocab_size)))) < 0.5


def test_masked_only_head_gives_the_stock_loss(tokenizer):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32)
    stock = BertForMaskedLM(config).eval()
    lean = da.MaskedOnlyBertForMaskedLM(config).eval()
    lean.load_state_dict(stock.state_dict())
    blocks = da.corpus_blocks([["Asthma is a chronic inflammatory disease of the airways."] * 20], tokenizer, 32)
    batch = da.fixed_masked_batches(blocks, da.mlm_collator(tokenizer, da.MINILM_ADAPTATION))[0]
    with torch.no_grad():
        assert torch.allclose(lean(**batch).loss, stock(**batch).loss, atol=1e-6)
        unlabelled = {key: value for key, value in batch.items() if key != "labels"}
        assert torch.equal(lean(**unlabelled).logits, stock(**unlabelled).logits)   # fill-mask sees every position
    assert da.masked_lm_loss(lean, [batch]) == pytest.approx(da.masked_lm_loss(stock, [batch]), abs=1e-5)


def test_minilm_gets_a_fresh_mlm_head_tied_to_its_embeddings():
    model, new = da.masked_lm_with_head("bert-base-cased")
    assert new and all(name.startswith("cls.predictions.") for name in new)
    assert "cls.predictions.transform.dense.weight" in new
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight


def test_settings_follow_the_profile(monkeypatch):
    monkeypatch.setenv("BERTCOURSE_PROFILE", "laptop")
    assert da.default_adaptation_settings().block_size == da.MINILM_ADAPTATION.block_size
    monkeypatch.setenv("BERTCOURSE_PROFILE", "gpu")
    monkeypatch.delenv("BERTCOURSE_MODEL_OVERRIDES", raising=False)
    assert da.default_adaptation_settings().learning_rate == da.BERT_BASE_ADAPTATION.learning_rate
