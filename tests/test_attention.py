"""The encoder written from its formulas (notebook 02) matches transformers, and the attention
views and cost measurements behave."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

import bertcourse
from bertcourse import attention as A
from bertcourse.course.errors import CourseError

TINY = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=64)


def tiny_model(**overrides) -> BertModel:
    torch.manual_seed(0)
    return BertModel(BertConfig(**TINY, **overrides), add_pooling_layer=False).eval()


@pytest.fixture(scope="module")
def tokenizer():
    return bertcourse.load_tokenizer("bert-base-uncased")


def test_scaled_dot_product_attention_matches_torch() -> None:
    q, k, v = torch.randn(3, 2, 4, 5, 8).unbind(0)
    mask = torch.rand(2, 1, 5, 5) > 0.3
    mask[..., 0] = True  # every query may attend somewhere
    for m in (None, mask):
        output, weights = A.scaled_dot_product_attention(q, k, v, m)
        assert torch.allclose(output, torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m), atol=1e-6)
        assert torch.allclose(weights.sum(-1), torch.ones(2, 4, 5))
    _, weights = A.scaled_dot_product_attention(q, k, v, mask)
    assert (weights.masked_select(~mask.expand_as(weights)) == 0).all()


def test_split_and_merge_heads_are_inverse_reshapes() -> None:
    x = torch.randn(2, 7, 12)
    heads = A.split_heads(x, 3)
    assert heads.shape == (2, 3, 7, 4)
    assert torch.equal(heads[:, 1], x[:, :, 4:8])
    assert torch.equal(A.merge_heads(heads), x)


def test_building_blocks_match_torch_modules() -> None:
    torch.manual_seed(0)
    linear, norm = torch.nn.Linear(6, 3), torch.nn.LayerNorm(6, eps=1e-12)
    torch.nn.init.normal_(norm.weight)
    torch.nn.init.normal_(norm.bias)
    x = torch.randn(4, 6) * 3 + 1
    assert torch.allclose(A.linear(x, linear), linear(x), atol=1e-6)
    assert torch.allclose(A.layer_norm(x, norm), norm(x), atol=1e-5)
    assert torch.allclose(A.gelu(x), torch.nn.functional.gelu(x), atol=1e-6)


def test_masks() -> None:
    assert A.causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    mask = A.padding_mask(torch.tensor([[1, 1, 0], [1, 1, 1]]))
    assert mask.shape == (2, 1, 1, 3) and mask[0, 0, 0].tolist() == [True, True, False]


def _stack(model: BertModel, input_ids: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
    hidden, all_weights = model.embeddings(input_ids=input_ids), []
    for layer in model.encoder.layer:
        hidden, weights = A.encoder_layer(hidden, layer, model.config.num_attention_heads, mask)
        all_weights.append(weights)
    return hidden, all_weights


def test_encoder_layers_by_hand_match_a_padded_bert_batch() -> None:
    model = tiny_model(attn_implementation="eager")
    input_ids = torch.tensor([[101, 2000, 2001, 2002, 102], [101, 2003, 102, 0, 0]])
    attention_mask = (input_ids != 0).long()
    with torch.no_grad():
        reference = model(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True)
        hidden, weights = _stack(model, input_ids, A.padding_mask(attention_mask))
    assert torch.allclose(hidden, reference.last_hidden_state, atol=1e-5)
    for ours, theirs in zip(weights, reference.attentions):
        assert torch.allclose(ours, theirs, atol=1e-6)


def test_causal_mask_reproduces_a_decoder_configured_bert() -> None:
    model = tiny_model(attn_implementation="eager", is_decoder=True)
    input_ids = torch.tensor([[101, 2000, 2001, 2002, 102]])
    with torch.no_grad():
        hidden, _ = _stack(model, input_ids, A.causal_mask(5))
        assert torch.allclose(hidden, model(input_ids=input_ids).last_hidden_state, atol=1e-5)


def test_attention_maps_need_eager_attention(tokenizer) -> None:
    tokens, weights = A.attention_maps(tiny_model(attn_implementation="eager"), tokenizer, "the cat sat")
    assert tokens == ["[CLS]", "the", "cat", "sat", "[SEP]"]
    assert weights.shape == (2, 4, 5, 5) and torch.allclose(weights.sum(-1), torch.ones(2, 4, 5), atol=1e-6)
    with pytest.raises(CourseError, match='attn_implementation="eager"'):
        A.attention_maps(tiny_model(attn_implementation="sdpa"), tokenizer, "the cat sat")


def test_attention_explorer_redraws_and_has_a_static_fallback() -> None:
    weights = torch.softmax(torch.randn(2, 3, 4, 4), dim=-1)
    explorer = A.AttentionExplorer(["a", "b", "c", "d"], weights, layer=1, head=2)
    assert torch.equal(explorer.selected(), weights[1, 2])
    first_image = explorer.image.value
    explorer.head.value = "mean"
    assert torch.allclose(explorer.selected(), weights[1].mean(0)) and explorer.image.value != first_image
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"].startswith("Attention explorer: 2 layers x 3 heads over 4 tokens (showing layer 1, mean")
    assert "image/png" in bundle and "application/vnd.jupyter.widget-view+json" in bundle
    with pytest.raises(ValueError, match="shape"):
        A.AttentionExplorer(["a", "b"], weights)


def test_attention_explorer_heatmap_fits_beside_its_controls() -> None:
    import io

    from PIL import Image

    for n in (4, 17, 60):
        explorer = A.AttentionExplorer([f"t{i}" for i in range(n)], torch.softmax(torch.randn(1, 2, n, n), dim=-1))
        picture = Image.open(io.BytesIO(explorer.image.value)).convert("RGB")
        width, height = picture.size
        assert height <= 440 and width == height + 64  # the square heatmap and its colour scale
        # the colour scale at the right: viridis' yellow (weight 1) at its top, which no weight in
        # these spread-out maps reaches
        right = [picture.getpixel((x, y)) for x in range(width - 110, width) for y in range(height // 3)]
        assert any(r > 200 and g > 200 and b < 90 for r, g, b in right)
        # shown at its own size, not stretched to the output's width
        assert (explorer.image.layout.width, explorer.image.layout.max_width) == (f"{width}px", "100%")
        row = explorer.children[0]
        assert isinstance(row, A.widgets.HBox) and row.children[1] is explorer.image
        assert row.layout.flex_flow == "row wrap"  # too narrow for both: the heatmap goes below, controls keep their width
        assert explorer.layer in row.children[0].children and explorer.head in row.children[0].children


def test_bertviz_view_needs_no_requirejs_and_says_what_to_do_offline() -> None:
    weights = torch.softmax(torch.randn(2, 3, 4, 4), dim=-1)
    tokens = ["[CLS]", "cat", "sat", "[SEP]"]
    for kind in ("head", "model"):
        view = A.bertviz_view(kind, weights, tokens)
        page = view._repr_html_()
        assert "require.min.js" not in page and "requirejs(" in page  # bertviz's call, answered by our loader
        assert page.count("<script>") == 1 and page.index("function requirejs") < page.index("requirejs(['jquery'")
        assert "cdnjs.cloudflare.com/ajax/libs/d3/" in page and "AttentionExplorer" in page
        before_script = page.split("<script>")[0]
        assert "Layer:" not in before_script and "AttentionExplorer" in before_script  # no empty menu before it draws
        # the model view's 12 heads are wider than an output: its box scrolls sideways instead of hiding some
        assert 'class="bertcourse-bertviz-view" style="overflow-x: auto; max-width: 100%"' in before_script
        assert page.count("</script>") == 1  # bertviz's markup inside the script cannot end it early
        assert repr(view).startswith(f"bertviz {kind} view: 2 layers x 3 heads over 4 tokens")


def test_attention_cost_memory_is_exactly_quadratic() -> None:
    model = tiny_model(attn_implementation="eager")
    threads = torch.get_num_threads()
    lengths = [8, 16, 32, 48]
    cost = A.attention_cost(model, lengths, repeats=1)
    assert torch.get_num_threads() == threads
    assert cost.index.tolist() == lengths and (cost[["forward_s", "attention_s"]] > 0).all().all()
    assert all(cost.loc[n, "attention_weights_bytes"] == 2 * 4 * n * n * 4 for n in lengths)
    a, b, c = np.polyfit(np.array(lengths, dtype=float), cost["activation_bytes"].to_numpy(dtype=float), 2)
    assert round(a) == 2 * 4 * 4  # one n x n float32 matrix per head per layer is kept for backward
    assert np.allclose(np.polyval([round(a), round(b), round(c)], lengths), cost["activation_bytes"], rtol=0, atol=0.5)
