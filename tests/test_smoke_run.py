"""The instructor's path, end to end: every lesson (00-09) in the `gpu` profile with `--smoke` on a
CPU, on the real datasets beside the repository (`../shared/data`), with every hub checkpoint
replaced by MiniLM (the hub is unreachable here). Each notebook must run to its last cell and
report its headline metric; result checks that a few steps cannot meet are listed, not fatal
(`bertcourse.course.smoke`). Budget: about 6 minutes on two idle cores (docs/gpu-results.md).

Also the caps themselves: what smoke mode cuts, and that it cuts nothing when off."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from bertcourse.course import profiles, smoke
from bertcourse.course.paths import REPO_DIR
from bertcourse.course.profiles import recipe_for
from bertcourse.pretrain_settings import settings_for

SHARED_DATA = REPO_DIR.parent / "shared" / "data"
LESSONS = [f"{number:02d}_" for number in range(10)]


def test_smoke_caps_cut_data_recipes_and_pretraining(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"x": list(range(500))}),
                                 "test": datasets.Dataset.from_dict({"x": list(range(500))})})
    corpus = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"sentences": [["s"] * 100] * 200})})
    recipe = type("Recipe", (), {})  # no `epochs`: left alone
    monkeypatch.delenv(smoke.ENV, raising=False)
    assert smoke.cap_dataset(rows, corpus=False) is rows
    assert settings_for("gpu").minutes == 20.0 and smoke.cap_steps(120) == 120

    monkeypatch.setenv(smoke.ENV, "1")
    cut = smoke.cap_dataset(rows, corpus=False)
    assert cut["train"]["x"] == list(range(smoke.CAPS.train_rows))  # the first rows, not a sample
    assert len(cut["test"]) == smoke.CAPS.eval_rows
    cut_corpus = smoke.cap_dataset(corpus, corpus=True)["train"]
    assert len(cut_corpus) == smoke.CAPS.train_rows and len(cut_corpus[0]["sentences"]) == smoke.CAPS.corpus_sentences
    assert smoke.cap_steps(120) == smoke.CAPS.max_steps and smoke.cap_recipe(recipe) is recipe
    gpu = settings_for("gpu")
    assert gpu.minutes == pytest.approx(20 / 60) and gpu.checkpoint_minutes == pytest.approx(5 / 60)  # minutes -> seconds
    assert gpu.batch_size == smoke.CAPS.pretrain_batch_size and gpu.model_size == smoke.CAPS.pretrain_model_size
    assert gpu.vocab_size == 30522 and gpu.max_length == 128  # what does not decide the run's length stays
    assert settings_for("laptop").max_steps == smoke.CAPS.max_pretrain_steps


def test_recipe_for_caps_epochs_in_smoke_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    from bertcourse.classification import BERT_BASE_RECIPE, MINILM_RECIPE

    monkeypatch.setattr(profiles, "_chosen", None)
    monkeypatch.setenv("BERTCOURSE_PROFILE", "laptop")
    monkeypatch.delenv("BERTCOURSE_MODEL_OVERRIDES", raising=False)
    monkeypatch.delenv(smoke.ENV, raising=False)
    assert recipe_for("bert-base-uncased", MINILM_RECIPE, BERT_BASE_RECIPE) == MINILM_RECIPE
    monkeypatch.setenv(smoke.ENV, "1")
    capped = recipe_for("bert-base-uncased", MINILM_RECIPE, BERT_BASE_RECIPE)
    assert capped.epochs == smoke.CAPS.max_epochs < MINILM_RECIPE.epochs
    assert capped.learning_rate == MINILM_RECIPE.learning_rate  # only the length changes


@pytest.mark.skipif(not SHARED_DATA.is_dir(),
                    reason=f"the real datasets are not beside the repository ({SHARED_DATA} is absent), and the "
                           "gpu profile cannot download them here")
def test_every_lesson_runs_in_the_gpu_profile_with_smoke_budgets(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from bertcourse.tools.notebook_runner import course_notebooks, run_notebooks

    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(SHARED_DATA))
    monkeypatch.setenv("BERTCOURSE_MODEL_OVERRIDES", "*=all-MiniLM-L6-v2")
    monkeypatch.delenv("BERTCOURSE_MODEL_DIR", raising=False)
    paths = course_notebooks(LESSONS)
    assert [path.name[:3] for path in paths] == LESSONS, "a lesson notebook is missing"
    results = run_notebooks(paths, tmp_path, "gpu", timeout=600, html=False, smoke=True)
    failures = [f"{result.where}: {result.error}" for result in results if not result.ok]
    assert not failures, failures
    unreported = [result.notebook for result in results if not result.headline]
    assert not unreported, f"no headline metric reported by {unreported}"
