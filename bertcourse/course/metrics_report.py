"""How a notebook publishes its headline number, so `bertcourse run` can show it in its summary.

The convention for lesson notebooks: call `report_metric` once for the number the lesson is about,
and with `headline=False` for the measurements worth recording but not headlining:

    from bertcourse.course.metrics_report import report_metric

    report_metric("MLM loss", eval_loss)                            # notebook 03: the headline
    report_metric("tokens/s", tokens_per_second, headline=False)    # recorded in the run folder
    report_metric("MFU", mfu, unit="%", headline=False)
    report_metric("accuracy", accuracy)                             # notebook 04
    report_metric("speedup", speedup, unit="x")                     # notebook 07

It prints one short line (so the number is visible in the notebook too; pass `quiet=True` to
skip it) and, when the notebook runs under `bertcourse run`, appends the metric as one JSON line to
the file named by `BERTCOURSE_METRICS_FILE`, which the runner sets per notebook. Interactively that
variable is unset and nothing is written. Either way the metric goes into the provenance of the
hand-offs the notebook saves (`bertcourse.course.handoffs`). Keep the printed value deterministic in the laptop
profile (nbval compares it), or tag the cell `nbval-ignore-output` (with its reason) for timings.

Room: course (`bertcourse.course`); imports only other course modules.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bertcourse.course import handoffs
from bertcourse.course.errors import CourseError

METRICS_FILE_ENV = "BERTCOURSE_METRICS_FILE"


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    unit: str = ""
    headline: bool = True

    def formatted(self) -> str:
        """`accuracy 0.9125`, `speedup 1.84x`, `tokens/s 52,300 tok/s`."""
        value = self.value
        if not math.isfinite(value):
            text = str(value)
        elif abs(value) >= 1000:
            text = f"{value:,.0f}"
        else:
            text = f"{value:.4g}"
        unit = self.unit if self.unit in ("", "x", "%") else f" {self.unit}"
        return f"{self.name} {text}{unit}"


def report_metric(name: str, value: Any, unit: str = "", *, headline: bool = True, quiet: bool = False) -> Metric:
    """Publish `name = value` (anything `float()` accepts: a number, a NumPy or 0-d torch scalar)."""
    if not isinstance(name, str) or not name.strip():
        raise CourseError("report_metric needs a metric name.", fix='e.g. report_metric("accuracy", 0.91)')
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CourseError(f"report_metric({name!r}, ...): {value!r} is not a number.",
                          fix="pass a float, e.g. float(metrics['eval_accuracy'])") from None
    metric = Metric(name.strip(), number, unit, headline)
    handoffs.metric_reported(metric.name, metric.value, metric.unit, metric.headline)  # in what the lesson saves
    if not quiet:
        print(f"{'Headline metric' if headline else 'Metric'}: {metric.formatted()}")
    target = os.environ.get(METRICS_FILE_ENV)
    if target:
        try:
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(asdict(metric)) + "\n")
        except OSError as err:  # a lesson must not fail because the run folder is not writable
            print(f"(could not record the metric in {target}: {err.strerror})")
    return metric


def read_metrics(path: Path) -> list[Metric]:
    """The metrics a notebook reported during a run, in order; unreadable lines are skipped."""
    if not path.is_file():
        return []
    metrics = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            metrics.append(Metric(str(row["name"]), float(row["value"]), str(row.get("unit", "")),
                                  bool(row.get("headline", True))))
        except (ValueError, KeyError, TypeError):
            continue
    return metrics
