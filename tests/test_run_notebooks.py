"""`bertcourse run`: two tiny notebooks executed headless, one of which fails; plus the metric
helper notebooks use to publish their headline number."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import nbformat
import pytest

from bertcourse.course.errors import CourseError
from bertcourse.course.metrics_report import METRICS_FILE_ENV, Metric, read_metrics, report_metric
from bertcourse.tools import notebook_runner
from bertcourse.tools import run as run_cli


def _notebook(path: Path, *cells: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# A tiny lesson")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def notebooks(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "numbers.txt").write_text("3\n4\n")  # notebooks run in their own folder
    failing = _notebook(folder / "01_broken.ipynb",
                        "import os\nprint(os.environ['BERTCOURSE_PROFILE'])",
                        "loss = 1 / 0",
                        "print('never reached')")
    passing = _notebook(folder / "02_fine.ipynb",
                        "# NBVAL_RAISES_EXCEPTION\nraise ValueError('shown on purpose')",
                        "values = [int(line) for line in open('numbers.txt')]\n"
                        "from bertcourse.course.metrics_report import report_metric\n"
                        "report_metric('accuracy', sum(values) / 8)\n"
                        "report_metric('samples/s', 1234.5, unit='samples/s', headline=False)")
    return [failing, passing]


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="bertcourse")
    run_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_run_reports_the_failing_cell_goes_on_and_writes_copies_html_and_summary(
        notebooks: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    code = _cli("run", *map(str, notebooks), "--profile", "gpu", "--out", str(out), "--timeout", "60")
    printed = capsys.readouterr().out
    assert code == 1

    assert "FAILED at 01_broken.ipynb, cell 3 (loss = 1 / 0): ZeroDivisionError: division by zero" in printed
    table = printed[printed.index("| notebook"):]
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:5]]
            for line in table.splitlines() if line.startswith("| 0")}
    assert rows["01_broken.ipynb"][0] == "FAILED at cell 3"
    assert rows["01_broken.ipynb"][2] == "-"
    assert rows["02_fine.ipynb"][0] == "ok"  # the run went on after the failure
    assert rows["02_fine.ipynb"][2] == "accuracy 0.875"
    assert "1 of 2 notebooks ran without error" in table

    for name in ("01_broken", "02_fine"):
        assert (out / f"{name}.html").read_text().lstrip().lower().startswith("<!doctype html>")
    broken = nbformat.read(out / "01_broken.ipynb", as_version=4)
    assert broken.cells[1].outputs[0]["text"] == "gpu\n"
    assert broken.cells[2].outputs[0]["ename"] == "ZeroDivisionError"
    assert broken.cells[3].outputs == []  # not executed after the failure
    fine = nbformat.read(out / "02_fine.ipynb", as_version=4)
    assert fine.cells[1].outputs[0]["ename"] == "ValueError"  # an nbval-marked error does not stop the run
    assert "tags" not in fine.cells[1].metadata  # and the marker tag is not written into the copy

    summary = json.loads((out / "summary.json").read_text())
    assert summary["profile"] == "gpu"
    first, second = summary["notebooks"]
    assert (first["status"], first["cell"], first["error"]) == ("failed", 3, "ZeroDivisionError: division by zero")
    assert second["metrics"] == [
        {"name": "accuracy", "value": 0.875, "unit": "", "headline": True},
        {"name": "samples/s", "value": 1234.5, "unit": "samples/s", "headline": False}]
    assert second["slowest_cells"] and second["html"].endswith("02_fine.html")
    markdown = (out / "summary.md").read_text()
    assert "samples/s 1,234 samples/s" in markdown and "## Slowest cells" in markdown
    assert (out / "home").is_dir()


def test_execute_keeps_working_for_in_place_regeneration(tmp_path: Path) -> None:
    """`make notebooks` uses `execute(path, path)`: no run folder, no timing metadata written."""
    path = _notebook(tmp_path / "00_intro.ipynb", "# NBVAL_RAISES_EXCEPTION\nraise KeyError('on purpose')",
                     "import time\nprint(6 * 7, flush=True)\ntime.sleep(0.3)\nprint('done')")
    result = notebook_runner.execute(path, path)
    assert (result.ok, result.status, result.cell, result.error) == (True, "ok", None, "")
    executed = nbformat.read(path, as_version=4)
    assert [output["text"] for output in executed.cells[2].outputs] == ["42\ndone\n"]  # one stream, however flushed
    assert "execution" not in executed.cells[2].metadata
    assert "tags" not in executed.cells[1].metadata


def test_notebooks_are_chosen_by_path_or_course_prefix(notebooks: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook_runner, "NOTEBOOK_DIR", notebooks[0].parent)
    assert notebook_runner.select_notebooks(None) == notebooks
    assert notebook_runner.select_notebooks(["02", str(notebooks[0])]) == [notebooks[1], notebooks[0]]
    with pytest.raises(CourseError, match="No notebook matches '09'"):
        notebook_runner.select_notebooks(["09"])


def test_report_metric_prints_and_records_only_under_a_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv(METRICS_FILE_ENV, raising=False)
    assert report_metric("MLM loss", 2.71828) == Metric("MLM loss", 2.71828)
    assert capsys.readouterr().out == "Headline metric: MLM loss 2.718\n"

    target = tmp_path / "run" / "03.metrics.jsonl"
    monkeypatch.setenv(METRICS_FILE_ENV, str(target))
    report_metric("speedup", 1.8, unit="x")
    report_metric("MFU", 41.5, unit="%", headline=False, quiet=True)
    assert capsys.readouterr().out == "Headline metric: speedup 1.8x\n"
    assert [metric.formatted() for metric in read_metrics(target)] == ["speedup 1.8x", "MFU 41.5%"]
    with pytest.raises(CourseError, match="not a number"):
        report_metric("accuracy", "high")


def test_runs_go_to_the_clone_or_from_an_installed_package_to_the_current_folder(monkeypatch: pytest.MonkeyPatch,
                                                                               tmp_path: Path) -> None:
    """An installed package's folder may be read-only and is no place for run outputs."""
    from bertcourse.course import paths

    assert notebook_runner.default_run_dir("gpu").parent == paths.REPO_DIR / "artifacts" / "runs"
    monkeypatch.setattr(paths, "BUNDLED_DIR", tmp_path)  # what a wheel carries
    monkeypatch.chdir(tmp_path)
    run_dir = notebook_runner.default_run_dir("gpu")
    assert run_dir.parent == tmp_path / "artifacts" / "runs" and run_dir.name.endswith("-gpu")
