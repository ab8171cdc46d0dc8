"""The pretraining loop of notebook 03 and `bertcourse pretrain`: the model, the optimiser and its
schedule, `train()` (progress bar, time budget, checkpoint and resume), evaluation by kind of masked
position against context-free and copy-the-input baselines, loss curves and fill-mask.

The ideas themselves (NSP pairs, the masking rule, the combined loss) are in
`bertcourse.pretraining`, where the notebook shows them; `train()` takes the masking rule and the
loss as arguments, so the notebook's own cells drive its training. The settings, the batches and the
checkpoints have modules of their own (`pretrain_settings`, `pretrain_data`, `pretrain_checkpoints`),
so that `train()` reads top to bottom here.

Speed levers, each switched on by device (numbers in `benchmarks/README.md`):
- everywhere: SDPA attention, pairs packed with whole sentences and batches grouped by length and
  padded only to their longest example (no wasted padding), vocabulary logits only at the masked
  positions, fused AdamW;
- CUDA only: bf16 autocast (through `accelerate`'s mixed precision), TF32 matmuls;
- opt-in (`compile=True`): `torch.compile` of the encoder (worth it for long runs on a GPU).

Room: a lesson module (lesson 03's machinery). It imports the other lesson modules it runs.

Multi-GPU runs use `accelerate` (`accelerate launch -m bertcourse.tools.cli pretrain ...`): the loop
only calls `Accelerator` methods, so the same code runs on one CPU core or eight GPUs.
"""

from __future__ import annotations

import math
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForPreTraining

from bertcourse.course import handoffs
from bertcourse.course.bars import progress_bar
from bertcourse.pretrain_checkpoints import (
    TrainResult,
    has_checkpoint,
    load_training_checkpoint,
    save_training_checkpoint,
)
from bertcourse.pretrain_data import EpochBatches, Masking
from bertcourse.pretrain_settings import MODEL_PRESETS, PretrainSettings
from bertcourse.pretraining import PretrainingLoss, mask_tokens, pretraining_loss
from bertcourse.training import bf16_available

LossFunction = Callable[[BertForPreTraining, dict[str, torch.Tensor]], PretrainingLoss]
"""A loss with `pretraining_loss`' signature: (model, batch) -> PretrainingLoss."""


def bert_config(size: str, vocab_size: int, max_length: int, attn_implementation: str = "sdpa") -> BertConfig:
    """A BERT configuration of one of `MODEL_PRESETS` for our vocabulary and sequence length."""
    return BertConfig(vocab_size=vocab_size, max_position_embeddings=max_length,
                      attn_implementation=attn_implementation, **MODEL_PRESETS[size])


def _autocast(device: torch.device) -> Any:
    if device.type == "cuda" and bf16_available():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


MASKED, RANDOM, UNCHANGED = 0, 1, 2  # what the model saw at a chosen position
POSITION_KINDS = {MASKED: "mask", RANDOM: "random", UNCHANGED: "unchanged"}


def position_kinds(batch: dict[str, torch.Tensor], mask_token_id: int) -> torch.Tensor:
    """For each chosen position (in the order of `labels != -100`): MASKED where the model saw [MASK],
    UNCHANGED where it saw the original token (the answer is in the input), RANDOM where it saw another
    token. A random draw that hit the original token counts as unchanged: the model cannot tell."""
    chosen = batch["labels"] != -100
    shown, target = batch["input_ids"][chosen], batch["labels"][chosen]
    return torch.where(shown == mask_token_id, MASKED, torch.where(shown == target, UNCHANGED, RANDOM))


@torch.no_grad()
def held_out_predictions(model: BertForPreTraining, batches: list[dict[str, torch.Tensor]], mask_token_id: int,
                         loss: LossFunction = pretraining_loss) -> dict[str, torch.Tensor]:
    """Every chosen position of `batches` (target, what the model saw, its kind, the model's top guess, its
    five best guesses and the cross-entropy) and every pair (NSP label, guess, cross-entropy), from the logits
    that `loss` returns."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    parts: dict[str, list[torch.Tensor]] = {key: [] for key in ("target", "shown", "kind", "predicted", "top5",
                                                                 "token_loss", "nsp_label", "nsp_predicted", "pair_loss")}
    for batch in batches:
        chosen = batch["labels"] != -100
        with _autocast(device):
            out = loss(model, {k: v.to(device) for k, v in batch.items()})
        target, nsp_label = batch["labels"][chosen], batch["next_sentence_label"]
        mlm_logits, nsp_logits = out.mlm_logits.float().cpu(), out.nsp_logits.float().cpu()
        parts["target"].append(target)
        parts["shown"].append(batch["input_ids"][chosen])
        parts["kind"].append(position_kinds(batch, mask_token_id))
        parts["predicted"].append(mlm_logits.argmax(-1))
        parts["top5"].append(mlm_logits.topk(5, dim=-1).indices)
        parts["token_loss"].append(F.cross_entropy(mlm_logits, target, reduction="none"))
        parts["nsp_label"].append(nsp_label)
        parts["nsp_predicted"].append(nsp_logits.argmax(-1))
        parts["pair_loss"].append(F.cross_entropy(nsp_logits, nsp_label, reduction="none"))
    model.train(was_training)
    return {key: torch.cat(values) for key, values in parts.items()}


def evaluate(model: BertForPreTraining, batches: list[dict[str, torch.Tensor]], mask_token_id: int,
             loss: LossFunction = pretraining_loss) -> dict[str, float]:
    """MLM loss and accuracy over every chosen position and separately where the model saw [MASK], a random
    token or the unchanged token (there the answer is visible: copying the input scores); NSP loss and
    accuracy; over fixed held-out batches."""
    p = held_out_predictions(model, batches, mask_token_id, loss)
    correct = (p["predicted"] == p["target"]).float()
    scores = {"mlm_loss": p["token_loss"].mean().item(), "mlm_accuracy": correct.mean().item(),
              "nsp_loss": p["pair_loss"].mean().item(),
              "nsp_accuracy": (p["nsp_predicted"] == p["nsp_label"]).float().mean().item(),
              "masked_tokens": len(p["target"]), "pairs": len(p["nsp_label"])}
    for kind, name in POSITION_KINDS.items():
        here = p["kind"] == kind
        scores[f"mlm_accuracy_{name}"] = correct[here].mean().item()
        scores[f"mlm_loss_{name}"] = p["token_loss"][here].mean().item()
        scores[f"{name}_positions"] = int(here.sum())
    return scores


def baselines(train_documents: list, batches: list[dict[str, torch.Tensor]], vocab_size: int,
              mask_token_id: int) -> dict[str, float]:
    """What a model that ignores context would score on the same held-out batches, overall and by
    kind of position (see `position_kinds`).

    MLM: always predict the most frequent training token (accuracy), the unigram distribution of
    training tokens (cross-entropy, add-one smoothed), and copy the input token (accuracy: right at
    every unchanged position, wrong wherever the input was changed). NSP: always answer the more
    frequent class (0.5 in expectation: chance)."""
    counts = Counter(token for document in train_documents for sentence in document for token in sentence)
    total = sum(counts.values()) + vocab_size
    most_frequent = counts.most_common(1)[0][0]
    chosen = [b["labels"] != -100 for b in batches]
    target = torch.cat([b["labels"][c] for b, c in zip(batches, chosen, strict=True)])
    shown = torch.cat([b["input_ids"][c] for b, c in zip(batches, chosen, strict=True)])
    kinds = torch.cat([position_kinds(b, mask_token_id) for b in batches])
    unigram_loss = -torch.log((torch.tensor([counts[t] for t in target.tolist()], dtype=torch.float64) + 1) / total)
    frequent, copy = (target == most_frequent).float(), (shown == target).float()
    nsp = torch.cat([b["next_sentence_label"] for b in batches])
    not_next = nsp.float().mean().item()
    reference = {"mlm_accuracy": frequent.mean().item(), "mlm_loss": unigram_loss.mean().item(),
                 "copy_accuracy": copy.mean().item(),
                 "nsp_accuracy": max(not_next, 1 - not_next), "nsp_loss": math.log(2),
                 "most_frequent_token": most_frequent}
    for kind, name in POSITION_KINDS.items():
        here = kinds == kind
        reference[f"mlm_accuracy_{name}"] = frequent[here].mean().item()
        reference[f"mlm_loss_{name}"] = unigram_loss[here].mean().item()
        reference[f"copy_accuracy_{name}"] = copy[here].mean().item()
    return reference


def mlm_table(scores: dict[str, float], reference: dict[str, float]) -> Any:
    """The MLM part of `evaluate` and `baselines` side by side, one row per kind of chosen position."""
    import pandas as pd

    rows = {"[MASK] (80%)": "_mask", "random token (10%)": "_random", "unchanged (10%)": "_unchanged",
            "all chosen positions": ""}
    return pd.DataFrame({
        "positions": [scores[f"{s[1:]}_positions"] if s else scores["masked_tokens"] for s in rows.values()],
        "accuracy: your BERT": [scores[f"mlm_accuracy{s}"] for s in rows.values()],
        "most frequent token": [reference[f"mlm_accuracy{s}"] for s in rows.values()],
        "copy the input": [reference[f"copy_accuracy{s}"] for s in rows.values()],
        "loss: your BERT": [scores[f"mlm_loss{s}"] for s in rows.values()],
        "unigram": [reference[f"mlm_loss{s}"] for s in rows.values()],
    }, index=list(rows))


class PretrainingObjective(torch.nn.Module):
    """Wraps a BertForPreTraining so that `accelerate` (and DDP) see one forward that returns
    (L, L_MLM, L_NSP) computed by `loss` (`pretraining_loss` unless another is given)."""

    def __init__(self, model: BertForPreTraining, loss: LossFunction = pretraining_loss) -> None:
        super().__init__()
        self.model, self.loss = model, loss

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.loss(self.model, batch)
        return out.loss, out.mlm_loss, out.nsp_loss


def make_optimizer(model: torch.nn.Module, settings: PretrainSettings, fused: bool | None = None) -> torch.optim.AdamW:
    """AdamW as in BERT (no weight decay on biases and LayerNorm), with PyTorch's fused kernel (one
    kernel updates every parameter) on the CPU and CUDA, which have one."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        (no_decay if parameter.ndim < 2 or "LayerNorm" in name else decay).append(parameter)
    if fused is None:
        fused = next(model.parameters()).device.type in ("cpu", "cuda")
    return torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=settings.learning_rate, betas=(0.9, 0.999), eps=1e-6, fused=fused)


def learning_rate(settings: PretrainSettings, progress: float) -> float:
    """Linear warm-up over the first `warmup` of the run, then linear decay to zero (BERT's schedule)."""
    if progress < settings.warmup:
        return settings.learning_rate * progress / settings.warmup
    return settings.learning_rate * max(0.0, 1 - progress) / (1 - settings.warmup)


def enable_fast_math(device: torch.device) -> None:
    """TF32 matmuls on CUDA (Ampere and newer): ~fp32 accuracy at tensor-core speed."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def make_accelerator(cpu: bool = False) -> Any:
    """An `accelerate.Accelerator` with bf16 mixed precision where the GPU supports it."""
    from accelerate import Accelerator

    return Accelerator(mixed_precision="bf16" if not cpu and bf16_available() else "no", cpu=cpu)


class _StopRequest:
    """Turns Ctrl-C / Jupyter's interrupt / SIGTERM into 'stop after this step', so a checkpoint is
    written between steps; a second signal interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _agree(accelerator: Any, flag: bool) -> bool:
    """True on every process if it is True on any: with several GPUs, a decision taken from a clock or a
    signal (stop, write a checkpoint) must be the same everywhere, or the processes wait for each other forever."""
    if accelerator.num_processes == 1:
        return flag
    return bool(accelerator.reduce(torch.tensor([float(flag)], device=accelerator.device), reduction="max").item())


def train(model: BertForPreTraining, tokenizer: Any, documents: list, settings: PretrainSettings,
          eval_batches: list[dict[str, torch.Tensor]] | None = None, checkpoint_dir: Path | None = None,
          resume: bool = False, accelerator: Any = None, progress: bool = True,
          stop_at_step: int | None = None, masking: Masking = mask_tokens,
          loss: LossFunction = pretraining_loss) -> TrainResult:
    """Pretrain `model` on `documents` (tokenized, see `tokenize_documents`) with L = L_MLM + L_NSP.

    `masking` masks every batch and `loss` computes L (also for the held-out evaluations): by default
    `bertcourse.pretraining`'s `mask_tokens` and `pretraining_loss`; notebook 03 passes the functions
    defined in its own cells, so editing a cell changes the training.

    Stops at `settings.max_steps` or after `settings.minutes`, whichever comes first, or when
    interrupted (Ctrl-C, Jupyter's stop button, SIGTERM): the step in progress finishes and, with
    `checkpoint_dir`, a checkpoint is written that `resume=True` continues from exactly.
    `stop_at_step` pauses there as if interrupted (for tests and demonstrations).
    """
    if settings.max_steps is None and settings.minutes is None:
        raise ValueError("give max_steps or minutes (or both)")
    accelerator = accelerator or make_accelerator()
    enable_fast_math(accelerator.device)
    model.to(accelerator.device)
    model.train()
    optimizer = make_optimizer(model, settings)
    result = TrainResult()
    if resume and has_checkpoint(checkpoint_dir):
        result = load_training_checkpoint(checkpoint_dir, model, optimizer)
        result.interrupted = False
        accelerator.print(f"Resuming from step {result.step} (epoch {result.epoch}, batch {result.batch_in_epoch}).")
    if settings.compile:
        model.bert.compile(dynamic=None)
    objective, optimizer = accelerator.prepare(PretrainingObjective(model, loss), optimizer)
    budget = None if settings.minutes is None else settings.minutes * 60
    last_checkpoint = time.perf_counter()
    # about a hundred refreshes per run: a notebook's output channel drops messages beyond ~1,000 queued
    # ones when nobody reads them during the cell (nbval), and a learner needs no more
    bar = progress_bar(total=settings.max_steps, initial=result.step, disable=not (progress and accelerator.is_local_main_process),
               unit="step", dynamic_ncols=True, desc="pretraining", mininterval=2.0,
               miniters=max(1, (settings.max_steps or 0) // 100))
    window: Counter = Counter()
    started = time.perf_counter() - result.seconds

    def elapsed() -> float:
        return time.perf_counter() - started

    def progress_now() -> float:
        by_steps = result.step / settings.max_steps if settings.max_steps else 0.0
        by_time = elapsed() / budget if budget and not settings.max_steps else 0.0
        return max(by_steps, by_time)

    def done() -> bool:
        return ((settings.max_steps is not None and result.step >= settings.max_steps)
                or (budget is not None and elapsed() >= budget))

    with _StopRequest() as stop:
        while not done() and not stop.requested and result.step != stop_at_step:
            dataset = EpochBatches(documents, tokenizer, settings, result.epoch, masking)
            # the loader's own generator: creating its iterator must not draw from the global RNG (dropout's),
            # or a resumed run would drop out different units than an uninterrupted one
            loader = accelerator.prepare_data_loader(torch.utils.data.DataLoader(
                dataset, batch_size=1, shuffle=False, collate_fn=dataset.collate, generator=torch.Generator()))
            if result.batch_in_epoch:
                loader = accelerator.skip_first_batches(loader, result.batch_in_epoch)
            for batch in loader:
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(settings, progress_now())
                total, mlm_loss, nsp_loss = objective(batch)
                accelerator.backward(total)
                accelerator.clip_grad_norm_(objective.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                result.step += 1
                result.batch_in_epoch += 1
                tokens = int(batch["attention_mask"].sum()) * accelerator.num_processes
                result.tokens += tokens
                window.update(mlm=mlm_loss.item(), nsp=nsp_loss.item(), n=1)
                bar.update(1)
                if result.step % settings.log_every == 0:
                    result.seconds = elapsed()
                    entry = {"step": result.step, "mlm_loss": window["mlm"] / window["n"],
                             "nsp_loss": window["nsp"] / window["n"], "lr": optimizer.param_groups[0]["lr"],
                             "seconds": result.seconds, "tokens": result.tokens}
                    result.history["train"].append(entry)
                    left = f"{(budget - result.seconds) / 60:.1f} min left" if budget else ""
                    bar.set_postfix_str(f"MLM {entry['mlm_loss']:.2f}  NSP {entry['nsp_loss']:.3f}  {left}", refresh=False)
                    window.clear()
                if eval_batches and settings.eval_every and result.step % settings.eval_every == 0:
                    scores = evaluate(accelerator.unwrap_model(objective).model, eval_batches, tokenizer.mask_token_id,
                                      loss)
                    result.history["eval"].append({"step": result.step, **scores})
                if _agree(accelerator, done() or stop.requested or result.step == stop_at_step):
                    stop.requested = stop.requested or not (done() or result.step == stop_at_step)
                    break
                if (checkpoint_dir is not None and settings.checkpoint_minutes and result.step % settings.log_every == 0
                        and _agree(accelerator, time.perf_counter() - last_checkpoint > settings.checkpoint_minutes * 60)):
                    result.seconds = elapsed()
                    save_training_checkpoint(checkpoint_dir, accelerator, accelerator.unwrap_model(objective).model,
                                             tokenizer, optimizer, result, settings)
                    last_checkpoint = time.perf_counter()
            else:  # the epoch ran out: next epoch, fresh pairs and masks
                result.epoch += 1
                result.batch_in_epoch = 0
        result.interrupted = stop.requested or result.step == stop_at_step
    bar.close()
    result.seconds = elapsed()
    result.finished = done()
    handoffs.training_finished(result.step, result.seconds)  # the run's length, for the model it saves
    if checkpoint_dir is not None:
        save_training_checkpoint(checkpoint_dir, accelerator, accelerator.unwrap_model(objective).model, tokenizer,
                                 optimizer, result, settings)
    if result.interrupted:
        accelerator.print(f"Stopped at step {result.step}" + (f"; resume from {checkpoint_dir}" if checkpoint_dir else "."))
    return result


def history_frame(result: TrainResult) -> Any:
    import pandas as pd

    return pd.DataFrame(result.history["train"])


def plot_history(history: dict[str, list[dict[str, float]]], baseline: dict[str, float] | None = None) -> Any:
    """Loss curves: MLM (train, held-out, unigram baseline) and NSP (train, held-out, chance)."""
    import matplotlib.pyplot as plt

    fig, (ax_mlm, ax_nsp) = plt.subplots(1, 2, figsize=(11, 3.8))
    train, held_out = history["train"], history["eval"]
    for ax, key, name in ((ax_mlm, "mlm_loss", "MLM"), (ax_nsp, "nsp_loss", "NSP")):
        ax.plot([e["step"] for e in train], [e[key] for e in train], label="training batches", alpha=0.8)
        if held_out:
            ax.plot([e["step"] for e in held_out], [e[key] for e in held_out], "o-", label="held-out")
        if baseline:
            ax.axhline(baseline[key], color="grey", ls="--",
                       label="unigram baseline" if key == "mlm_loss" else "chance (ln 2)")
        ax.set(xlabel="step", ylabel="cross-entropy (nats)", title=f"{name} loss")
        ax.legend()
    fig.tight_layout()
    return fig


@torch.no_grad()
def fill_mask(model: BertForPreTraining, tokenizer: Any, text: str, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """For each [MASK] in `text`, the `top_k` most likely tokens and their probabilities."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    encoded = tokenizer(text, return_tensors="pt").to(device)
    hidden = model.bert(**encoded).last_hidden_state[0]
    positions = (encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten()
    probabilities = model.cls.predictions(hidden[positions]).softmax(-1)
    model.train(was_training)
    best = probabilities.topk(top_k, dim=-1)
    return [[(tokenizer.convert_ids_to_tokens(int(i)), round(float(p), 3)) for p, i in zip(ps, ids)]
            for ps, ids in zip(best.values, best.indices)]


