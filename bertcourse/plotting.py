"""Plots the lessons share: class balance, text lengths, confusion matrices.

Each function draws on a given matplotlib `Axes` (or a new figure) and returns the `Figure`, so a
notebook can place several plots side by side and tests can inspect what was drawn. Colours and
sizes are fixed and no timestamps are drawn, so re-running a notebook gives the same picture.
Born in notebook 04 (emotion classification); the NER lessons reuse the confusion matrix.

Room: a lesson module; imports `bertcourse.course` and other lesson modules, never tools or quiz.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix


def _axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    figure, ax = plt.subplots(figsize=size)
    return figure, ax


def plot_class_balance(labels: Sequence[int], names: Sequence[str], ax: Axes | None = None,
                       title: str = "Examples per class") -> Figure:
    """Bar chart of how many examples each class has, with counts and shares on the bars."""
    figure, ax = _axes(ax, (6, 3.2))
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=len(names))
    bars = ax.bar(range(len(names)), counts, color="tab:blue")
    for bar, count in zip(bars, counts):
        ax.annotate(f"{count}\n{count / counts.sum():.0%}", (bar.get_x() + bar.get_width() / 2, count),
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("examples")
    ax.set_ylim(0, counts.max() * 1.25)
    ax.set_title(title)
    figure.tight_layout()
    return figure


def plot_length_histogram(lengths: Sequence[int], ax: Axes | None = None, max_length: int | None = None,
                          title: str = "Text length in tokens", unit: str = "tokens per text") -> Figure:
    """Histogram of lengths with the mean, the 95th percentile and an optional truncation limit."""
    figure, ax = _axes(ax, (6, 3.2))
    lengths = np.asarray(lengths)
    ax.hist(lengths, bins=min(40, max(5, int(lengths.max() - lengths.min() + 1))), color="tab:gray")
    ax.axvline(lengths.mean(), color="tab:blue", label=f"mean {lengths.mean():.1f}")
    ax.axvline(np.percentile(lengths, 95), color="tab:orange", linestyle="--",
               label=f"95th percentile {np.percentile(lengths, 95):.0f}")
    if max_length is not None:
        ax.axvline(max_length, color="tab:red", linestyle=":", label=f"max_length {max_length}")
    ax.set_xlabel(unit)
    ax.set_ylabel("texts")
    ax.set_title(title)
    ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_confusion_matrix(labels: Sequence[int], predicted: Sequence[int], names: Sequence[str],
                          ax: Axes | None = None, normalize: bool = True,
                          title: str = "Confusion matrix") -> Figure:
    """Rows are the true class, columns the predicted one. With `normalize`, each row shows the
    share of that class's examples (the diagonal is per-class recall) and each cell also shows
    the raw count, so rare classes are as readable as common ones."""
    figure, ax = _axes(ax, (5.2, 4.6))
    counts = confusion_matrix(labels, predicted, labels=list(range(len(names))))
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    shown = shares if normalize else counts
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else max(counts.max(), 1))
    for row in range(len(names)):
        for col in range(len(names)):
            text = f"{shares[row, col]:.2f}\n({counts[row, col]})" if normalize else str(counts[row, col])
            dark = shown[row, col] > (0.5 if normalize else counts.max() / 2)
            ax.text(col, row, text, ha="center", va="center", fontsize=7, color="white" if dark else "black")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    figure.tight_layout()
    return figure


def plot_scores(scores: dict[str, dict[str, float]], ax: Axes | None = None,
                title: str = "Test scores") -> Figure:
    """Grouped horizontal bars: one group per model, one bar per metric (e.g. accuracy, macro_f1)."""
    figure, ax = _axes(ax, (6.5, 0.6 + 0.55 * len(scores)))
    models = list(scores)
    metrics = list(next(iter(scores.values())))
    height = 0.8 / len(metrics)
    for index, metric in enumerate(metrics):
        values = [scores[model][metric] for model in models]
        positions = np.arange(len(models)) + index * height
        bars = ax.barh(positions, values, height=height, label=metric)
        for bar, value in zip(bars, values):
            ax.annotate(f"{value:.2f}", (value, bar.get_y() + bar.get_height() / 2), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(np.arange(len(models)) + height * (len(metrics) - 1) / 2, models)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.08)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return figure
