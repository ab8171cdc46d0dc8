"""Self-attention by hand, and ways to look at it (notebook 02).

The first group of functions is the encoder re-implemented from its formulas; notebook 02
writes each of them in a `#@save bertcourse.attention` cell and checks it against the
pretrained model, and tests/test_saved_cells.py keeps the two copies identical:

    scaled_dot_product_attention   softmax(Q Kᵀ / √d_k) V, with an optional mask
    split_heads / merge_heads      (batch, n, d) <-> (batch, heads, n, d / heads)
    layer_norm, gelu, linear       the three small pieces an encoder layer is made of
    encoder_layer                  attention + residual + LayerNorm + feed-forward + residual + LayerNorm

Masks are boolean and broadcast against the (batch, heads, n, n) scores: True where a query
position may attend to a key position (`padding_mask`, `causal_mask`).

The second group looks at a model's attention: `attention_maps` collects the weights
(`attn_implementation="eager"` is needed so the model returns them), `plot_attention` draws
one head as a heatmap, and `AttentionExplorer` is an offline, interactive layer/head picker
made of ipywidgets (no JavaScript from the internet). `bertviz_view` shows bertviz's richer
head and model views, made to draw in JupyterLab 4 (bertviz itself relies on RequireJS, which
JupyterLab lacks) and to say so plainly when offline. `attention_cost` measures the time and
memory of one encoder forward against sequence length.

Room: a lesson module; imports `bertcourse.course` and other lesson modules, never tools or quiz.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
import torch
from torch import Tensor

from bertcourse.course import controls
from bertcourse.course.errors import CourseError

# Written out for the learner in notebook 02_architecture's `#@save` cells; tests/test_saved_cells.py
# checks both ways (each name has its cell, each cell's definition is listed here), and
# `bertcourse dev sync-saved` rewrites the cells from this module.
SAVED_IN_NOTEBOOK = dict.fromkeys((
    "layer_norm",
    "scaled_dot_product_attention",
    "split_heads",
    "merge_heads",
    "padding_mask",
    "causal_mask",
    "linear",
    "gelu",
    "encoder_layer",
), "02_architecture")


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """softmax(Q Kᵀ / √d_k) V over the last two dimensions; returns (output, weights).

    `mask` is boolean, broadcastable to the scores, True where a query may attend to a key.
    """
    d_k = query.size(-1)
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """(batch, n, d) -> (batch, heads, n, d / heads): head h gets features h·d_k ... (h+1)·d_k - 1."""
    batch, n, d = x.shape
    return x.view(batch, n, num_heads, d // num_heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """(batch, heads, n, d_k) -> (batch, n, heads · d_k): the inverse of split_heads."""
    batch, heads, n, d_k = x.shape
    return x.transpose(1, 2).reshape(batch, n, heads * d_k)


def linear(x: Tensor, module: torch.nn.Linear) -> Tensor:
    """x Wᵀ + b with the weight and bias of an `nn.Linear`."""
    return x @ module.weight.T + module.bias


def layer_norm(x: Tensor, module: torch.nn.LayerNorm) -> Tensor:
    """(x - mean) / √(variance + ε) · γ + β over the last dimension, with an `nn.LayerNorm`'s γ, β, ε."""
    mean = x.mean(dim=-1, keepdim=True)
    variance = x.var(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(variance + module.eps) * module.weight + module.bias


def gelu(x: Tensor) -> Tensor:
    """GELU(x) = x · Φ(x), with Φ the standard normal CDF (BERT's exact, erf-based form)."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def encoder_layer(x: Tensor, layer: torch.nn.Module, num_heads: int,
                  mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One BERT encoder layer, post-LayerNorm as in the original Transformer, with the weights
    of a transformers `BertLayer`; returns (output, attention weights).

        h   = LayerNorm(x + MultiHead(x) W_O)
        out = LayerNorm(h + GELU(h W_1) W_2)
    """
    attention = layer.attention
    q = split_heads(linear(x, attention.self.query), num_heads)
    k = split_heads(linear(x, attention.self.key), num_heads)
    v = split_heads(linear(x, attention.self.value), num_heads)
    context, weights = scaled_dot_product_attention(q, k, v, mask)
    h = layer_norm(x + linear(merge_heads(context), attention.output.dense), attention.output.LayerNorm)
    feed_forward = linear(gelu(linear(h, layer.intermediate.dense)), layer.output.dense)
    return layer_norm(h + feed_forward, layer.output.LayerNorm), weights


def padding_mask(attention_mask: Tensor) -> Tensor:
    """(batch, n) tokenizer attention_mask of 1/0 -> (batch, 1, 1, n) bool: every query may
    attend to every real token and to no padding."""
    return attention_mask[:, None, None, :].bool()


def causal_mask(n: int) -> Tensor:
    """(n, n) bool, True on and below the diagonal: position i sees only positions 0..i
    (left-to-right, as in GPT), unlike BERT, which sees the whole sentence."""
    return torch.ones(n, n, dtype=torch.bool).tril()


def _require_eager(model: Any) -> None:
    implementation = getattr(model.config, "_attn_implementation", None)
    if implementation not in (None, "eager"):
        raise CourseError(f"This model computes attention with {implementation!r}, which does not return "
                          "attention weights.",
                          fix='load it with attn_implementation="eager", e.g. '
                              'bc.load_model("bert-base-uncased", attn_implementation="eager")')


def attention_maps(model: Any, tokenizer: Any, text: str, text_pair: str | None = None) -> tuple[list[str], torch.Tensor]:
    """(tokens, weights) for one input; `weights` has shape (layers, heads, n, n) and row i of
    a head is how position i spreads its attention over all positions (each row sums to 1)."""
    _require_eager(model)
    encoding = tokenizer(text, text_pair, return_tensors="pt")
    with torch.no_grad():
        output = model(**encoding, output_attentions=True)
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0].tolist())
    return tokens, torch.stack([layer[0] for layer in output.attentions])


def plot_attention(weights: torch.Tensor, tokens: Sequence[str], ax: Any = None, title: str | None = None) -> Any:
    """Heatmap of one head's (n, n) attention: row = the token attending, column = attended to."""
    import matplotlib.pyplot as plt

    if ax is None:
        size = min(8.0, 2.0 + 0.35 * len(tokens))
        _, ax = plt.subplots(figsize=(size, size))
    ax.imshow(weights.detach().cpu().numpy(), cmap="viridis", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(tokens)), tokens, rotation=90)
    ax.set_yticks(range(len(tokens)), tokens)
    ax.set_xlabel("attended to (key)")
    ax.set_ylabel("attending (query)")
    if title:
        ax.set_title(title)
    return ax


_HEATMAP_DPI = 80


_COLOUR_SCALE_INCHES = 0.8  # the colour bar right of the explorer's heatmap, with its labels


def _heatmap_inches(n_tokens: int) -> tuple[float, float]:
    """(width, height) of the explorer's heatmap: a square with room for the token labels, at
    most 5.5 in (440 px) high, plus its colour scale, so the picture and its controls fit side by
    side in a 1280 px window with JupyterLab's file browser open."""
    side = min(5.5, 2.5 + 0.25 * n_tokens)
    return side + _COLOUR_SCALE_INCHES, side


def _heatmap_png(weights: torch.Tensor, tokens: Sequence[str], title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=_heatmap_inches(len(tokens)), dpi=_HEATMAP_DPI, layout="tight")
    FigureCanvasAgg(figure)
    axes = plot_attention(weights, tokens, ax=figure.add_subplot(), title=title)
    figure.colorbar(axes.images[0], ax=axes, fraction=0.08, pad=0.03, label="attention weight")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class AttentionExplorer(widgets.VBox):
    """Pick a layer and a head (or the mean of all heads) and see its attention heatmap.

    Made only of ipywidgets, whose JavaScript ships with JupyterLab, so it works offline. A
    notebook opened without a kernel shows a still image of the initial selection instead.
    The controls sit in a column left of the heatmap, which is shown at its own pixel size
    (an ipywidgets Image otherwise stretches to the output's width, about 930 px square) with a
    colour scale; where the output is too narrow for both, the heatmap moves below the controls
    rather than squeezing them. The controls keep the course's focus ring (`controls.mark`).
    """

    def __init__(self, tokens: Sequence[str], weights: torch.Tensor, layer: int = 0, head: int | str = 0) -> None:
        if weights.dim() != 4 or weights.shape[-1] != len(tokens) or weights.shape[-2] != len(tokens):
            raise ValueError("weights must have shape (layers, heads, n, n) with n = len(tokens)")
        self.tokens = list(tokens)
        self.weights = weights.detach().cpu()
        layers, heads = self.weights.shape[:2]
        self.layer = widgets.IntSlider(value=layer, min=0, max=layers - 1, description="layer",
                                       tooltip="encoder layer (0 = closest to the input)")
        self.head = widgets.Dropdown(options=[*range(heads), "mean"], value=head, description="head",
                                     tooltip="attention head, or the mean over all heads")
        width = f"{round(_heatmap_inches(len(self.tokens))[0] * _HEATMAP_DPI)}px"
        # its own size, or narrower (keeping its shape) in an output narrower than that
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=width, max_width="100%", height="auto",
                                                                       flex="0 1 auto"))
        self.focus = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.layer.observe(self._redraw, names="value")
        self.head.observe(self._redraw, names="value")
        for control in (self.layer, self.head):
            control.layout.width = "100%"
        panel = widgets.VBox([self.layer, self.head, self.focus], layout=widgets.Layout(flex="0 0 260px"))
        super().__init__([widgets.HBox([panel, self.image], layout=widgets.Layout(
            align_items="flex-start", flex_flow="row wrap", grid_gap="12px"))])
        controls.mark(self)
        self._redraw()

    def selected(self) -> torch.Tensor:
        """The (n, n) weights currently shown."""
        layer = self.weights[self.layer.value]
        return layer.mean(dim=0) if self.head.value == "mean" else layer[self.head.value]

    def _title(self) -> str:
        head = "mean of heads" if self.head.value == "mean" else f"head {self.head.value}"
        return f"layer {self.layer.value}, {head}"

    def _redraw(self, change: Any = None) -> None:
        weights = self.selected()
        self.image.value = _heatmap_png(weights, self.tokens, self._title())
        strongest = [f"{self.tokens[i]} → {self.tokens[int(weights[i].argmax())]}" for i in range(len(self.tokens))]
        self.focus.value = "<small>strongest attention per token: " + ", ".join(strongest) + "</small>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        import base64

        bundle = super()._repr_mimebundle_(**kwargs)
        layers, heads = self.weights.shape[:2]
        bundle["text/plain"] = (f"Attention explorer: {layers} layers x {heads} heads over {len(self.tokens)} tokens "
                                f"(showing {self._title()}; run the cell to choose)")
        bundle["image/png"] = base64.b64encode(_heatmap_png(self.selected(), self.tokens, self._title())).decode()
        return bundle


_BERTVIZ_LOADER = Path(__file__).with_name("bertviz_loader.js")
_REQUIREJS_TAG = re.compile(r'<script src="[^"]*require(?:\.min)?\.js"></script>')
_INLINE_SCRIPT = re.compile(r'<script type="text/javascript">(.*)</script>', re.S)
BERTVIZ_NOTE = ("This bertviz view draws when the cell runs in a browser with internet access: it loads d3 and "
                "jQuery from cdnjs.cloudflare.com. Offline, use the attention explorer above (AttentionExplorer).")


_SCROLLS = "overflow-x: auto; max-width: 100%"


class BertvizView:
    """bertviz's HTML, rewritten to draw in JupyterLab 4; the notebook shows `_repr_html_`."""

    def __init__(self, page: str, summary: str) -> None:
        self.page = page
        self.summary = summary

    def _repr_html_(self) -> str:
        return self.page

    def __repr__(self) -> str:
        return self.summary


def bertviz_view(kind: str, weights: torch.Tensor, tokens: Sequence[str], **options: Any) -> BertvizView:
    """bertviz's `head_view` (kind "head") or `model_view` ("model") of `attention_maps` weights,
    shaped (layers, heads, n, n). `options` go to bertviz (e.g. `sentence_b_start`, `layer`).

    bertviz's own page loads RequireJS from a CDN and then asks it for d3 and jQuery; JupyterLab
    has no RequireJS, so the view stayed empty under a "require is not defined" error. Here
    bertviz makes its page (`html_action="return"`), the RequireJS tag is dropped and bertviz's
    script runs after `bertviz_loader.js`, which loads the same d3 and jQuery files with plain
    script tags, or, offline, replaces the view with a note pointing to `AttentionExplorer`.
    bertviz's controls travel inside the script and appear only when it draws. The model view
    (12 heads across) is wider than a notebook's output: its box scrolls sideways rather than
    hiding the last heads.
    """
    import bertviz

    draw = {"head": bertviz.head_view, "model": bertviz.model_view}[kind]
    # bertviz wants one (1, heads, n, n) tensor per layer; rounded (in float64, so the numbers print
    # short) to keep a saved notebook small
    per_layer = [layer.unsqueeze(0).double().round(decimals=3) for layer in weights.detach().cpu()]
    page = _REQUIREJS_TAG.sub("", draw(per_layer, list(tokens), html_action="return", **options).data)
    script = _INLINE_SCRIPT.search(page)
    if script is None:
        raise RuntimeError("bertviz's page has no inline script: this bertviz version is not supported")
    loader = _BERTVIZ_LOADER.read_text(encoding="utf-8")
    layout = json.dumps(page[: script.start()]).replace("</", "<\\/")  # a JS string that cannot end the script
    wrapped = f"<script>(function () {{\nconst LAYOUT = {layout};\n{loader}\n{script[1]}\n}})();</script>"
    page = (f'<div class="bertcourse-bertviz"><p class="bertcourse-bertviz-note">{html.escape(BERTVIZ_NOTE)}</p>'
            f'<div class="bertcourse-bertviz-view" style="{_SCROLLS}"></div>{wrapped}</div>')
    layers, heads, n = weights.shape[0], weights.shape[1], weights.shape[-1]
    return BertvizView(page, f"bertviz {kind} view: {layers} layers x {heads} heads over {n} tokens "
                             "(draws in a browser with internet access; offline, use AttentionExplorer)")


def _best_time(function: Any, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def saved_activation_bytes(model: Any, input_ids: torch.Tensor) -> int:
    """Bytes of the tensors one forward pass keeps for the backward pass (the activation
    memory training needs on top of the weights), counting each storage once and leaving
    the parameters out."""
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameters:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(input_ids=input_ids)
    return sum(storages.values())


def attention_cost(model: Any, lengths: Sequence[int], repeats: int = 3, threads: int | None = 1,
                   token_id: int = 2023) -> pd.DataFrame:
    """Time and memory of one forward of `model` on a batch of one sequence of each length.

    Columns: `n`; `forward_s` (best of `repeats` wall-clock times for the whole encoder);
    `attention_s` (the same for only the score/softmax/mixing step, softmax(Q Kᵀ/√d_k) V, of
    every layer, on random inputs); `attention_weights_bytes` (the (layers, heads, n, n)
    float weights the model returns, exact); `activation_bytes` (`saved_activation_bytes`).

    Timings use `threads` CPU threads (default 1: on a busy laptop, several threads waiting on
    each other make the times jump around; None keeps torch's setting).
    """
    _require_eager(model)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _attention_cost(model, lengths, repeats, token_id)
    finally:
        torch.set_num_threads(previous_threads)


def _attention_cost(model: Any, lengths: Sequence[int], repeats: int, token_id: int) -> pd.DataFrame:
    config = model.config
    heads, d_k = config.num_attention_heads, config.hidden_size // config.num_attention_heads
    rows = []
    for n in lengths:
        input_ids = torch.full((1, n), token_id, dtype=torch.long)
        q, k, v = torch.randn(3, 1, heads, n, d_k, generator=torch.Generator().manual_seed(n)).unbind(0)
        with torch.no_grad():
            model(input_ids=input_ids)  # warm-up
            forward = _best_time(lambda: model(input_ids=input_ids), repeats)
            attention = _best_time(lambda: [scaled_dot_product_attention(q, k, v)
                                            for _ in range(config.num_hidden_layers)], repeats)
            output = model(input_ids=input_ids, output_attentions=True)
        rows.append({"n": n, "forward_s": forward, "attention_s": attention,
                     "attention_weights_bytes": sum(a.numel() * a.element_size() for a in output.attentions),
                     "activation_bytes": saved_activation_bytes(model, input_ids)})
    return pd.DataFrame(rows).set_index("n")
