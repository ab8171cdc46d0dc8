"""bertcourse.plotting draws what it says: bar heights, histogram markers, confusion-matrix cells."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bertcourse import plotting  # noqa: E402

NAMES = ["sadness", "joy", "surprise"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_class_balance_bars_count_each_class_even_when_absent() -> None:
    figure = plotting.plot_class_balance([0, 1, 1, 1], NAMES)
    ax = figure.axes[0]
    assert [bar.get_height() for bar in ax.patches] == [1, 3, 0]
    assert [tick.get_text() for tick in ax.get_xticklabels()] == NAMES
    assert "75%" in " ".join(text.get_text() for text in ax.texts)


def test_length_histogram_marks_mean_percentile_and_limit() -> None:
    figure = plotting.plot_length_histogram([10, 12, 14, 40], max_length=32)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend[0] == "mean 19.0" and legend[-1] == "max_length 32"


def test_confusion_matrix_rows_are_true_classes_normalised_with_counts() -> None:
    figure = plotting.plot_confusion_matrix([0, 0, 0, 1, 2], [0, 0, 1, 1, 0], NAMES)
    ax = figure.axes[0]
    image = ax.get_images()[0].get_array()
    np.testing.assert_allclose(image, [[2 / 3, 1 / 3, 0], [0, 1, 0], [1, 0, 0]])
    cells = [text.get_text() for text in ax.texts]
    assert cells[0] == "0.67\n(2)" and cells[1] == "0.33\n(1)" and len(cells) == 9
    counts = plotting.plot_confusion_matrix([0, 1], [1, 1], NAMES, normalize=False).axes[0]
    assert [text.get_text() for text in counts.texts][:3] == ["0", "1", "0"]


def test_scores_plot_has_one_bar_per_model_and_metric_on_given_axes() -> None:
    figure, ax = plt.subplots()
    returned = plotting.plot_scores({"majority": {"accuracy": 0.3, "macro_f1": 0.1},
                                     "fine-tuned": {"accuracy": 0.9, "macro_f1": 0.85}}, ax=ax)
    assert returned is figure
    assert sorted(round(bar.get_width(), 2) for bar in ax.patches) == [0.1, 0.3, 0.85, 0.9]
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["majority", "fine-tuned"]
