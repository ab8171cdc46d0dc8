"""Profiles, the registry, resource loading and the errors a learner sees when something is missing."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from transformers import AutoModelForSequenceClassification, BertConfig, BertModel

import bertcourse
from bertcourse.course import minilm, profiles, resources
from bertcourse.course.errors import CourseError, DataFormatError, IntegrityError, ResourceUnavailable
from bertcourse.course.registry import DATASETS, MINILM, MODELS

pytestmark = pytest.mark.usefixtures("fresh_profile")


def test_laptop_is_the_default_and_stands_in_minilm_for_every_hub_model() -> None:
    assert bertcourse.active_profile().name == "laptop"
    assert {profiles.resolve_model_key(key) for key in MODELS} == {MINILM}


def test_profile_from_environment_and_from_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTCOURSE_PROFILE", "gpu")
    assert bertcourse.active_profile().name == "gpu"
    assert profiles.resolve_model_key("bert-base-cased") == "bert-base-cased"
    assert bertcourse.use_profile("laptop").name == "laptop"
    assert profiles.resolve_model_key("bert-base-cased") == MINILM


def test_unknown_profile_is_a_short_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTCOURSE_PROFILE", "cluster")
    with pytest.raises(CourseError, match="Unknown profile 'cluster'.*BERTCOURSE_PROFILE"):
        bertcourse.active_profile()


def test_overrides_swap_checkpoints_in_the_gpu_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    bertcourse.use_profile("gpu")
    monkeypatch.setenv("BERTCOURSE_MODEL_OVERRIDES", f"bert-base-uncased={MINILM}")
    assert profiles.resolve_model_key("bert-base-uncased") == MINILM
    assert profiles.resolve_model_key("bert-base-cased") == "bert-base-cased"
    monkeypatch.setenv("BERTCOURSE_MODEL_OVERRIDES", f"*={MINILM}")
    assert profiles.resolve_model_key("biobert-base-cased") == MINILM
    monkeypatch.setenv("BERTCOURSE_MODEL_OVERRIDES", "bert-base-uncased=gpt2")
    with pytest.raises(CourseError, match="bad entry"):
        profiles.resolve_model_key("bert-base-uncased")


def test_error_renders_as_one_short_message_in_ipython() -> None:
    err = ResourceUnavailable("Dataset 'x' missing.", fix="prefetch it")
    rendered = err._render_traceback_()
    assert rendered == ["ResourceUnavailable: Dataset 'x' missing.\nFix: prefetch it"]


def test_laptop_loads_the_offline_encoder_and_tokenizer(capsys: pytest.CaptureFixture[str]) -> None:
    tokenizer = bertcourse.load_tokenizer("bert-base-uncased")
    assert tokenizer.vocab_size == 30522
    assert tokenizer.tokenize("Talkie") == ["talk", "##ie"]
    model = bertcourse.load_model("bert-base-uncased")
    assert isinstance(model, BertModel) and model.config.num_hidden_layers == 6
    classifier = bertcourse.load_model("bert-base-uncased", AutoModelForSequenceClassification, num_labels=6)
    assert classifier.classifier.out_features == 6
    printed = capsys.readouterr().out
    assert "bert-base-uncased -> served by all-MiniLM-L6-v2 [laptop profile stand-in" in printed


@pytest.mark.parametrize("key", list(DATASETS))
def test_every_dataset_loads_offline_in_laptop_profile(key: str) -> None:
    loaded = bertcourse.load_dataset(key)
    first = loaded["train"] if "train" in loaded else loaded["validation"]   # the laptop STS set has no train split
    assert len(first) > 0 and "validation" in loaded
    column = {"text_classification": "label", "token_classification": "ner_tags", "corpus": "sentences",
              "sentence_pairs": "score", "question_answering": "answers"}
    assert column[DATASETS[key].kind] in first.column_names


def test_gpu_profile_reads_real_local_copies(monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> None:
    bertcourse.use_profile("gpu")
    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(shared_data))
    emotion = bertcourse.load_dataset("emotion")
    assert {name: len(split) for name, split in emotion.items()} == {"train": 16000, "validation": 2000, "test": 2000}
    assert emotion["train"].features["label"].names == ["sadness", "joy", "love", "anger", "fear", "surprise"]
    conll = bertcourse.load_dataset("conll2003")
    assert len(conll["train"]) == 14041 and conll["train"].features["ner_tags"].feature.names[1] == "B-PER"
    assert len(bertcourse.load_dataset("ncbi_disease")["test"]) == 940
    wiki = bertcourse.load_dataset("wikipedia")
    assert len(wiki["train"]) == 556 and len(wiki["train"][0]["sentences"]) > 10


def test_stsb_loads_in_both_profiles_on_the_0_to_5_scale(monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> None:
    laptop = bertcourse.load_dataset("stsb")
    assert set(laptop) == {"validation", "test"} and len(laptop["test"]) >= 80
    bertcourse.use_profile("gpu")
    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(shared_data))
    real = bertcourse.load_dataset("stsb")
    assert {name: len(split) for name, split in real.items()} == {"train": 5749, "validation": 1500, "test": 1379}
    first = real["train"][0]
    assert (first["sentence1"], first["sentence2"], first["score"]) == (
        "A plane is taking off.", "An air plane is taking off.", 5.0)
    assert 0.0 <= min(real["test"]["score"]) and max(real["test"]["score"]) == 5.0


def test_gpu_profile_local_conll_column_files_match_jsonl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          shared_data: Path) -> None:
    column_copy = tmp_path / "conll2003"
    (column_copy / "raw").mkdir(parents=True)
    shutil.copy(shared_data / "conll2003" / "labels.txt", column_copy)
    shutil.copy(shared_data / "conll2003" / "raw" / "validation.txt.gz", column_copy / "raw")
    shutil.copy(shared_data / "conll2003" / "raw" / "validation.txt.gz", column_copy / "raw" / "train.txt.gz")
    bertcourse.use_profile("gpu")
    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(tmp_path))
    from_columns = bertcourse.load_dataset("conll2003")["validation"]
    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(shared_data))
    from_jsonl = bertcourse.load_dataset("conll2003")["validation"]
    assert from_columns["tokens"] == from_jsonl["tokens"] and from_columns["ner_tags"] == from_jsonl["ner_tags"]


def test_hub_unreachable_gives_a_short_error_naming_the_fix() -> None:
    bertcourse.use_profile("gpu")  # conftest puts the hub libraries in offline mode
    with pytest.raises(ResourceUnavailable) as caught:
        bertcourse.load_model("bert-base-uncased")
    message = str(caught.value)
    assert "bert-base-uncased" in message and "bertcourse prefetch" in message and "laptop" in message
    assert len(message.splitlines()) == 2
    with pytest.raises(ResourceUnavailable, match="dair-ai/emotion"):
        bertcourse.load_dataset("emotion")


def test_missing_local_folder_and_bad_rows_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bertcourse.use_profile("gpu")
    folder = tmp_path / "emotion"
    folder.mkdir()
    (folder / "labels.txt").write_text("sadness\njoy\n")
    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(ResourceUnavailable, match="no train split"):
        bertcourse.load_dataset("emotion")
    (folder / "train.jsonl").write_text('{"text": "ok", "label": 1}\n{"text": "x", "label": "love"}\n')
    with pytest.raises(DataFormatError, match=r"train\.jsonl, line 2: label 'love' is not in labels.txt"):
        bertcourse.load_dataset("emotion")


@pytest.mark.parametrize("profile", ["laptop", "gpu"])
def test_a_learners_own_pair_folder_loads_in_either_profile(tmp_path: Path, profile: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    bertcourse.use_profile(profile)
    folder = tmp_path / "my_pairs"
    folder.mkdir()
    (folder / "labels.txt").write_text("different\nparaphrase\n")
    row = {"sentence1": "The shop shuts at nine.", "sentence2": "It closes at nine.", "label": "paraphrase"}
    (folder / "train.jsonl").write_text(json.dumps(row) + "\n")
    (folder / "test.jsonl").write_text(json.dumps({**row, "label": "different", "sentence2": "It opens at nine."}) + "\n")
    loaded = bertcourse.load_folder(folder)
    assert set(loaded) == {"train", "test"} and loaded["train"][0] == {**row, "label": 1}
    assert loaded["train"].features["label"].names == ["different", "paraphrase"]
    assert "my_pairs/" in capsys.readouterr().out
    (folder / "labels.txt").unlink()
    with pytest.raises(ResourceUnavailable, match="labels.txt"):
        bertcourse.load_folder(folder)
    with pytest.raises(ResourceUnavailable, match=r"Your data \(text_classification\): folder nowhere/ not found"):
        bertcourse.load_folder(tmp_path / "nowhere")
    with pytest.raises(ResourceUnavailable, match="No data format called 'pairs'"):
        bertcourse.load_folder(folder, kind="pairs")  # type: ignore[arg-type]


def test_a_learners_scored_pairs_load_for_regression(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text('{"sentence1": "A.", "sentence2": "B.", "score": 3.5}\n')
    loaded = bertcourse.load_folder(tmp_path, kind="sentence_pairs")
    assert loaded["train"][0] == {"sentence1": "A.", "sentence2": "B.", "score": 3.5}


def test_unknown_resource_names_list_the_known_ones() -> None:
    with pytest.raises(CourseError, match="(?s)no dataset called 'imdb'.*emotion"):
        bertcourse.load_dataset("imdb")
    with pytest.raises(CourseError, match="no model called 'gpt2'"):
        bertcourse.load_model("gpt2")


def test_minilm_weights_are_verified_by_sha256(tmp_path: Path) -> None:
    real = minilm.package_model_dir()
    minilm.verify(real)
    copy = tmp_path / "model"
    shutil.copytree(real, copy)
    with (copy / "vocab.txt").open("a") as handle:
        handle.write("tampered\n")
    with pytest.raises(IntegrityError, match="vocab.txt does not match its sha256"):
        minilm.verify(copy)
    (copy / "config.json").unlink()
    with pytest.raises(ResourceUnavailable, match="config.json is missing"):
        minilm.verify(copy, {"config.json": minilm.EXPECTED_SHA256["config.json"]})


def test_a_changed_fast_tokenizer_file_is_caught(tmp_path: Path) -> None:
    """Issue 15, item 14: the fast tokenizer loads tokenizer.json, not vocab.txt; a changed
    tokenizer.json loaded silently with different ids."""
    copy = tmp_path / "model"
    shutil.copytree(minilm.package_model_dir(), copy)
    tokenizer = json.loads((copy / "tokenizer.json").read_text())
    tokenizer["model"]["vocab"]["hello"], tokenizer["model"]["vocab"]["world"] = (
        tokenizer["model"]["vocab"]["world"], tokenizer["model"]["vocab"]["hello"])
    (copy / "tokenizer.json").write_text(json.dumps(tokenizer))
    with pytest.raises(IntegrityError, match="tokenizer.json does not match its sha256"):
        minilm.verify(copy)


def test_every_file_from_pretrained_reads_is_hashed() -> None:
    """Issue 28, item 14: special_tokens_map.json was read but not hashed. Every file of the
    package folder that loading the tokenizer and the config opens must have a digest."""
    from transformers import AutoConfig, AutoTokenizer

    folder = minilm.package_model_dir()
    opened = set()

    def audit(event: str, args: tuple) -> None:
        if event == "open" and isinstance(args[0], str) and args[0].startswith(str(folder)):
            opened.add(Path(args[0]).relative_to(folder).parts[0])

    sys.addaudithook(audit)  # audit hooks cannot be removed; this one only collects names
    AutoTokenizer.from_pretrained(folder)
    AutoConfig.from_pretrained(folder)
    assert opened and opened <= set(minilm.EXPECTED_SHA256), opened - set(minilm.EXPECTED_SHA256)
    assert not opened & minilm.UNREAD


def test_a_changed_special_tokens_map_or_an_extra_file_is_caught(tmp_path: Path) -> None:
    """Issue 28, item 14: a copy whose special_tokens_map.json sets mask_token "[UNK]" passed
    `doctor` as "sha256 verified", and the tokenizer then masked with id 100. A file the package
    does not ship (transformers reads added_tokens.json when it is there) is refused too."""
    copy = tmp_path / "model"
    shutil.copytree(minilm.package_model_dir(), copy)
    special = json.loads((copy / "special_tokens_map.json").read_text())
    (copy / "special_tokens_map.json").write_text(json.dumps(special | {"mask_token": "[UNK]"}))
    with pytest.raises(IntegrityError, match="special_tokens_map.json does not match its sha256"):
        minilm.verify(copy)
    shutil.copy(minilm.package_model_dir() / "special_tokens_map.json", copy)
    minilm.verify(copy)
    (copy / "added_tokens.json").write_text('{"[MASK]": 100}')
    with pytest.raises(IntegrityError, match="a file the course does not know: added_tokens.json"):
        minilm.verify(copy)


def test_package_exports_and_submodules_load_lazily() -> None:
    assert bertcourse.course.paths.saved_checkpoint.__name__ == "saved_checkpoint"
    assert callable(bertcourse.load_dataset) and "quiz" in dir(bertcourse)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bertcourse.nope


def test_tokenizer_casing_follows_the_served_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """BioBERT's hub copy has no tokenizer_config.json; without an explicit do_lower_case=False the
    cased model would read lower-cased text. resources decides casing from the registry for every caller."""
    # the laptop stand-in is uncased: lower-casing stays on although bert-base-cased was asked for
    assert bertcourse.load_tokenizer("bert-base-cased").tokenize("Metformin") == ["met", "##form", "##in"]
    calls = []
    monkeypatch.setattr(resources, "_from_pretrained", lambda what, loader, key, **kwargs: calls.append((key, kwargs)))
    monkeypatch.setattr(resources, "resolve_model_key", lambda key: key)          # as in the gpu profile
    resources.load_tokenizer("biobert-base-cased")
    resources.load_tokenizer("bert-base-uncased")
    resources.load_tokenizer("biobert-base-cased", do_lower_case=True)            # a caller may still decide
    assert calls == [("biobert-base-cased", {"do_lower_case": False}), ("bert-base-uncased", {"do_lower_case": True}),
                     ("biobert-base-cased", {"do_lower_case": True})]


def test_local_dataset_folder_is_decided_in_one_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bertcourse.course.registry import local_dataset_folder

    assert local_dataset_folder("conll2003") is None
    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(tmp_path))
    assert local_dataset_folder("conll2003") == tmp_path / DATASETS["conll2003"].local_folder
    assert local_dataset_folder("emotion", tmp_path / "other") == tmp_path / "other" / "emotion"


def test_an_explicit_data_dir_wins_over_the_profile(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`load_dataset(key, data_dir=...)` reads that copy even in the laptop profile, and sets no variable."""
    loaded = bertcourse.load_dataset("emotion", data_dir=shared_data)
    assert len(loaded["train"]) == 16_000 and str(shared_data) in capsys.readouterr().out
    assert "BERTCOURSE_DATA_DIR" not in os.environ


def test_a_lesson_model_loads_by_its_handoff_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Lessons hand models on by the names declared in the registry; a missing one says which notebook to run."""
    from bertcourse.course.registry import HANDOFFS

    monkeypatch.setenv("BERTCOURSE_HOME", str(tmp_path))
    with pytest.raises(ResourceUnavailable, match="run notebook 04_finetuning first"):
        bertcourse.load_model("04_emotion_classifier")
    with pytest.raises(ResourceUnavailable, match="No lesson saves"):
        bertcourse.paths.saved_checkpoint("05_something")
    folder = bertcourse.paths.artifacts_dir("06_bio_adapted")
    BertModel(BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=16)).save_pretrained(folder)
    assert isinstance(bertcourse.load_model("06_bio_adapted"), BertModel)
    assert f"saved by notebook {HANDOFFS['06_bio_adapted'].made_by}" in capsys.readouterr().out


def test_hub_sts_scores_are_put_on_the_course_scale() -> None:
    """sentence-transformers/stsb stores score / 5; loading and prefetch both rescale through the registry."""
    import datasets

    hub_like = datasets.DatasetDict({"test": datasets.Dataset.from_list(
        [{"sentence1": "a", "sentence2": "b", "score": 0.5}, {"sentence1": "c", "sentence2": "d", "score": 1.0}])})
    assert DATASETS["stsb"].from_hub(hub_like)["test"]["score"] == [2.5, 5.0]
    assert DATASETS["emotion"].from_hub(hub_like) is hub_like
