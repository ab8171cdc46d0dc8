"""`bertcourse prefetch`, offline: local stand-in sources instead of the hub, the layout the
course reads back, atomic placement (interrupted downloads), manifests and hash mismatches."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import datasets
import numpy as np
import pytest
from safetensors.numpy import save_file

from bertcourse.course import formats, minilm, profiles, resources
from bertcourse.course.errors import CourseError, ResourceUnavailable
from bertcourse.course.registry import DATASETS, MODELS, DatasetEntry, ModelEntry
from bertcourse.tools import prefetch
from bertcourse.tools.prefetch import MANIFEST, FolderSource, HubSource, NotInSource

EMOTION_LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


@pytest.fixture(autouse=True)
def gpu_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local copies are read in the gpu profile; nothing may reach the hub."""
    monkeypatch.setattr(profiles, "_chosen", None)
    monkeypatch.setenv("BERTCOURSE_PROFILE", "gpu")
    for name in ("BERTCOURSE_MODEL_OVERRIDES", "BERTCOURSE_DATA_DIR", "BERTCOURSE_MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    """A small stand-in for the hub: one model folder and two datasets in the course layout."""
    root = tmp_path / "source"
    model = root / "models" / "bert-base-uncased"
    model.mkdir(parents=True)
    (model / "config.json").write_text('{"model_type": "bert"}')
    save_file({"embeddings": np.zeros((100, 125), dtype=np.float32)}, model / "model.safetensors")
    (model / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    emotion = root / "data" / "emotion"
    emotion.mkdir(parents=True)
    (emotion / "labels.txt").write_text("\n".join(EMOTION_LABELS) + "\n")
    _jsonl(emotion / "train.jsonl", [{"text": f"i feel thing {i}", "label": i % 6} for i in range(30)])
    _jsonl(emotion / "validation.jsonl", [{"text": "i feel fine", "label": "joy"}])
    conll = root / "data" / "conll2003"
    conll.mkdir(parents=True)
    (conll / "labels.txt").write_text("O\nB-PER\nI-PER\n")
    _jsonl(conll / "train.jsonl", [{"tokens": ["Ada", "Lovelace", "wrote"], "ner_tags": ["B-PER", "I-PER", "O"]}])
    return root


class CountingSource:
    """Wraps a source and counts what it was asked for."""

    def __init__(self, inner: FolderSource) -> None:
        self.inner, self.calls, self.description = inner, [], inner.description

    def fetch_model(self, entry: ModelEntry, dest: Path) -> None:
        self.calls.append(entry.key)
        self.inner.fetch_model(entry, dest)

    def fetch_dataset(self, entry: DatasetEntry, dest: Path) -> None:
        self.calls.append(entry.key)
        self.inner.fetch_dataset(entry, dest)


class BrokenSource:
    """Writes part of a file, then fails as a dropped connection (or Ctrl-C) would."""

    description = "a flaky network"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def fetch_model(self, entry: ModelEntry, dest: Path) -> None:
        (dest / "config.json").write_text("{}")
        (dest / "model.safetensors").write_bytes(b"\0" * 1000)  # half a download
        raise self.error

    def fetch_dataset(self, entry: DatasetEntry, dest: Path) -> None:
        (dest / "labels.txt").write_text("\n".join(EMOTION_LABELS) + "\n")
        (dest / "train.jsonl").write_text('{"text": "i feel', encoding="utf-8")  # cut mid-line
        raise self.error


def _status(results: list[prefetch.ItemResult]) -> dict[str, str]:
    return {result.item.key: result.status for result in results}


def _leftovers(out: Path) -> list[str]:
    return sorted(path.name for folder in (out / "models", out / "data") if folder.is_dir()
                  for path in folder.rglob(".*"))


ITEMS = ["bert-base-uncased", "emotion", "conll2003"]


def test_prefetch_writes_the_layout_the_course_reads_with_a_manifest_and_the_export_line(
        source_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "copies"
    results = prefetch.prefetch(out, FolderSource(source_dir), ITEMS)
    assert _status(results) == {key: "fetched" for key in ITEMS}
    printed = capsys.readouterr().out
    assert f"export BERTCOURSE_MODEL_DIR={out / 'models'} BERTCOURSE_DATA_DIR={out / 'data'}" in printed
    assert "50.1 kB" in printed  # sizes are shown (the model: 50,128 bytes)

    manifest = json.loads((out / "data" / "emotion" / MANIFEST).read_text())
    assert set(manifest["files"]) == {"labels.txt", "train.jsonl", "validation.jsonl"}
    for name, row in manifest["files"].items():
        assert row["sha256"] == formats.sha256_of(out / "data" / "emotion" / name)
    assert (out / "models" / "bert-base-uncased" / "model.safetensors").stat().st_size == 50_088
    assert _leftovers(out) == []

    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(out / "data"))
    emotion = resources.load_dataset("emotion")
    assert emotion["train"].features["label"].names == EMOTION_LABELS
    assert (len(emotion["train"]), emotion["validation"][0]["label"]) == (30, 1)
    conll = resources.load_dataset("conll2003")
    assert conll["train"][0]["ner_tags"] == [1, 2, 0]
    assert "BERTCOURSE_DATA_DIR/emotion" in capsys.readouterr().out
    monkeypatch.setenv("BERTCOURSE_MODEL_DIR", str(out / "models"))
    assert resources.model_source("bert-base-uncased") == (str(out / "models" / "bert-base-uncased"),
                                                           "BERTCOURSE_MODEL_DIR/bert-base-uncased")


def test_items_the_source_lacks_are_reported_unavailable_not_failed(source_dir: Path, tmp_path: Path) -> None:
    results = prefetch.prefetch(tmp_path / "copies", FolderSource(source_dir), ["bert-base-cased", "pubmed"])
    assert _status(results) == {"bert-base-cased": "unavailable", "pubmed": "unavailable"}
    assert all(result.ok for result in results)
    assert not (tmp_path / "copies" / "models" / "bert-base-cased").exists()


def test_rerun_skips_what_is_present_after_verifying_its_hashes(source_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "copies"
    prefetch.prefetch(out, FolderSource(source_dir), ITEMS)
    source = CountingSource(FolderSource(source_dir))
    results = prefetch.prefetch(out, source, ITEMS)
    assert _status(results) == {key: "present" for key in ITEMS}
    assert all(result.detail == "sha256 verified" for result in results)
    assert source.calls == []


def test_a_file_that_no_longer_matches_its_sha256_is_fetched_again(source_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "copies"
    prefetch.prefetch(out, FolderSource(source_dir), ITEMS)
    train = out / "data" / "emotion" / "train.jsonl"
    good = train.read_bytes()
    train.write_bytes(good.replace(b"thing 1", b"thing 9"))  # same size, different content
    (out / "models" / "bert-base-uncased" / "vocab.txt").unlink()

    checked = prefetch.prefetch(out, None, ITEMS, check=True)
    assert _status(checked) == {"bert-base-uncased": "corrupt", "emotion": "corrupt", "conll2003": "present"}
    assert train.read_bytes() != good  # --check repairs nothing

    source = CountingSource(FolderSource(source_dir))
    results = prefetch.prefetch(out, source, ITEMS)
    assert _status(results) == {"bert-base-uncased": "re-fetched", "emotion": "re-fetched", "conll2003": "present"}
    details = {result.item.key: result.detail for result in results}
    assert details["emotion"] == "was: sha256 mismatch: train.jsonl"
    assert details["bert-base-uncased"] == "was: missing vocab.txt"
    assert sorted(source.calls) == ["bert-base-uncased", "emotion"]
    assert train.read_bytes() == good
    assert _leftovers(out) == []


@pytest.mark.parametrize("error", [ConnectionError("connection reset by peer"), KeyboardInterrupt()])
def test_an_interrupted_download_leaves_nothing_that_looks_complete(
        error: BaseException, source_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "copies"
    if isinstance(error, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            prefetch.prefetch(out, BrokenSource(error), ["emotion"])
    else:
        [result] = prefetch.prefetch(out, BrokenSource(error), ["emotion"])
        assert (result.status, result.detail) == ("failed", "ConnectionError: connection reset by peer")
        assert not result.ok
    assert not (out / "data" / "emotion").exists()
    assert _leftovers(out) == []

    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(out / "data"))  # the course does not take it for a copy
    with pytest.raises(ResourceUnavailable, match="Hugging Face hub"):
        resources.load_dataset("emotion")

    [result] = prefetch.prefetch(out, FolderSource(source_dir), ["emotion"])
    assert result.status == "fetched"


def test_a_failed_refetch_keeps_the_previous_copy_in_place(source_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "copies"
    prefetch.prefetch(out, FolderSource(source_dir), ["bert-base-uncased"])
    config = out / "models" / "bert-base-uncased" / "config.json"
    config.write_text('{"model_type": "bert", "edited": true}')
    [result] = prefetch.prefetch(out, BrokenSource(TimeoutError("read timed out")), ["bert-base-uncased"])
    assert result.status == "failed"
    assert "edited" in config.read_text()  # never replaced by half a download
    assert _leftovers(out) == []


def test_leftovers_of_a_killed_run_are_ignored_by_the_course_and_removed(
        source_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "copies"
    partial = out / "data" / ".emotion.partial-k1ll3d"  # what SIGKILL mid-download leaves
    partial.mkdir(parents=True)
    (partial / "train.jsonl").write_text('{"text": "half')
    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(out / "data"))
    with pytest.raises(ResourceUnavailable):
        resources.load_dataset("emotion")

    [checked] = prefetch.prefetch(out, None, ["emotion"], check=True)
    assert (checked.status, checked.detail) == ("missing", "leftover .emotion.partial-k1ll3d; absent")
    assert partial.is_dir()  # --check changes nothing

    [result] = prefetch.prefetch(out, FolderSource(source_dir), ["emotion"])
    assert result.status == "fetched"
    assert result.detail == "removed leftover .emotion.partial-k1ll3d"
    assert _leftovers(out) == []


def test_two_prefetches_cannot_write_to_one_folder_at_once(source_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "copies"
    with prefetch._exclusive(out), pytest.raises(CourseError, match="Another prefetch is writing"):
        prefetch.prefetch(out, FolderSource(source_dir), ["emotion"])
    assert prefetch.prefetch(out, FolderSource(source_dir), ["emotion"])[0].status == "fetched"


def test_a_copy_that_does_not_pass_the_course_readers_is_not_placed(source_dir: Path, tmp_path: Path) -> None:
    _jsonl(source_dir / "data" / "emotion" / "train.jsonl", [{"text": "i feel", "label": "bored"}])
    [result] = prefetch.prefetch(tmp_path / "copies", FolderSource(source_dir), ["emotion"])
    assert result.status == "failed"
    assert "label 'bored' is not in labels.txt" in result.detail
    assert not (tmp_path / "copies" / "data" / "emotion").exists()


def test_copying_an_earlier_prefetch_checks_its_manifest(source_dir: Path, tmp_path: Path) -> None:
    stick = tmp_path / "usb-stick"
    prefetch.prefetch(stick, FolderSource(source_dir), ["emotion"])
    results = prefetch.prefetch(tmp_path / "a", FolderSource(stick), ["emotion"])
    assert _status(results) == {"emotion": "fetched"}

    labels = stick / "data" / "emotion" / "labels.txt"
    labels.write_text(labels.read_text().replace("joy", "joi"))  # corrupted on the stick
    [result] = prefetch.prefetch(tmp_path / "b", FolderSource(stick), ["emotion"])
    assert result.status == "failed"
    assert "IntegrityError: labels.txt" in result.detail
    assert not (tmp_path / "b" / "data" / "emotion").exists()


def test_hub_datasets_are_converted_to_the_course_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub source's conversion, offline: `datasets.load_dataset` answers with in-memory data."""
    tags = ["O", "B-Disease", "I-Disease"]
    hub = {
        "dair-ai/emotion": datasets.DatasetDict({
            split: datasets.Dataset.from_dict(
                {"text": ["i feel sad", "i am glad"], "label": [0, 1]},
                features=datasets.Features({"text": datasets.Value("string"),
                                            "label": datasets.ClassLabel(names=EMOTION_LABELS)}))
            for split in ("train", "validation", "test")}),
        "ncbi/ncbi_disease": datasets.DatasetDict({"train": datasets.Dataset.from_dict(
            {"id": ["0"], "tokens": [["Colon", "cancer", "risk"]], "ner_tags": [[1, 2, 0]]},
            features=datasets.Features({"id": datasets.Value("string"),
                                        "tokens": datasets.List(datasets.Value("string")),
                                        "ner_tags": datasets.List(datasets.ClassLabel(names=tags))}))}),
        "Salesforce/wikitext": datasets.DatasetDict({split: datasets.Dataset.from_dict({"text": [
            "", " = Valkyria = \n", "", " The game began in 2010 . It was praised . \n", " = = Plot = = \n",
            " The story follows a squad . \n", " = Tower Building = \n", " It is a building . It is tall . \n"]})
            for split in ("train", "validation", "test")}),
    }
    asked = []

    def fake_load_dataset(hub_id: str, config: str | None = None) -> datasets.DatasetDict:
        asked.append((hub_id, config))
        return hub[hub_id]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    out = tmp_path / "copies"
    results = prefetch.prefetch(out, HubSource(), ["emotion", "ncbi_disease", "wikipedia", "pubmed"])
    assert _status(results) == {"emotion": "fetched", "ncbi_disease": "fetched", "wikipedia": "fetched",
                                "pubmed": "unavailable"}
    assert ("Salesforce/wikitext", "wikitext-103-raw-v1") in asked
    assert "no hub copy" in results[-1].detail

    ncbi_row = json.loads((out / "data" / "ncbi_disease" / "train.jsonl").read_text())
    assert ncbi_row == {"tokens": ["Colon", "cancer", "risk"], "ner_tags": ["B-Disease", "I-Disease", "O"]}
    assert sorted(path.name for path in (out / "data" / "wikitext" / "enwiki_2015_sample").iterdir()) == [
        "train.txt.gz", "validation.txt.gz"]

    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(out / "data"))
    emotion = resources.load_dataset("emotion")
    assert emotion["test"]["label"] == [0, 1]
    assert emotion["train"].features["label"].names == EMOTION_LABELS
    wiki = resources.load_dataset("wikipedia")
    assert wiki["train"]["sentences"] == [
        ["The game began in 2010 .", "It was praised .", "The story follows a squad ."],
        ["It is a building .", "It is tall ."]]


def test_hub_models_are_saved_with_their_tokenizer_in_save_pretrained_layout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """The hub source's model path, offline: the MiniLM package folder stands in for a hub id."""
    monkeypatch.setitem(MODELS, "bert-base-uncased",
                        dataclasses.replace(MODELS["bert-base-uncased"], hub_id=str(minilm.package_model_dir())))
    out = tmp_path / "copies"
    [result] = prefetch.prefetch(out, HubSource(), ["bert-base-uncased"])
    assert result.status == "fetched", result.detail
    saved = {path.name for path in (out / "models" / "bert-base-uncased").iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer_config.json", MANIFEST} <= saved

    monkeypatch.setenv("BERTCOURSE_MODEL_DIR", str(out / "models"))
    tokenizer = resources.load_tokenizer("bert-base-uncased")
    assert tokenizer.tokenize("Hello attention") == ["hello", "attention"]
    assert "from BERTCOURSE_MODEL_DIR/bert-base-uncased" in capsys.readouterr().out


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="bertcourse")
    prefetch.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_the_command(source_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "copies"
    assert _cli("prefetch", "--from", str(source_dir), "--out", str(out), "--only", "emotion", "conll2003") == 0
    assert f"export BERTCOURSE_MODEL_DIR={out / 'models'} BERTCOURSE_DATA_DIR={out / 'data'}" in capsys.readouterr().out
    assert _cli("prefetch", "--check", "--out", str(out), "--only", "emotion", "conll2003") == 0
    assert _cli("prefetch", "--check", "--out", str(out), "--only", "emotion", "ncbi_disease") == 1  # not fetched
    (out / "data" / "emotion" / "labels.txt").write_text("joy\n")
    assert _cli("prefetch", "--check", "--out", str(out), "--only", "emotion") == 1
    assert _cli("prefetch", "--from", str(source_dir), "--out", str(out), "--only", "emotion") == 0
    assert "re-fetched" in capsys.readouterr().out
    assert _cli("prefetch", "--profile", "laptop") == 0
    assert "needs no downloads" in capsys.readouterr().out


def test_every_registry_dataset_prefetches_from_the_shared_data(
        shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the GPU verification run does: ../shared/data in, the course's local layout out."""
    out = tmp_path / "copies"
    results = prefetch.prefetch(out, FolderSource(shared_data), list(DATASETS))
    # every dataset the shared folder holds is fetched; one it lacks (MRPC) is reported, not failed
    assert _status(results) == {key: "fetched" if (shared_data / DATASETS[key].local_folder).is_dir() else "unavailable"
                                for key in DATASETS}
    assert _status(results)["emotion"] == "fetched" and _status(results)["squad"] == "fetched"
    assert (out / "data" / "conll2003" / "PROVENANCE.md").is_file()  # license terms travel with the data
    monkeypatch.setenv("BERTCOURSE_DATA_DIR", str(out / "data"))
    assert len(resources.load_dataset("ncbi_disease")["train"]) == 5424
    assert len(resources.load_dataset("pubmed")["train"]) == 1999


def test_sources_say_when_they_have_no_copy(tmp_path: Path) -> None:
    with pytest.raises(NotInSource, match="no hub copy"):
        HubSource().fetch_dataset(DATASETS["pubmed"], tmp_path)
    with pytest.raises(NotInSource, match="no emotion/"):
        FolderSource(tmp_path).fetch_dataset(DATASETS["emotion"], tmp_path / "dest")


# -- what a source, a manifest or the network may not be trusted with (issue 15, items 8-11) ----

def _stick(source_dir: Path, tmp_path: Path) -> Path:
    """An earlier prefetch (with manifests) of the model and emotion, as on a USB stick."""
    stick = tmp_path / "usb-stick"
    results = prefetch.prefetch(stick, FolderSource(source_dir), ["bert-base-uncased", "emotion"])
    assert _status(results) == {"bert-base-uncased": "fetched", "emotion": "fetched"}
    return stick


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("manifest", [None, "not json", '{"files": []}', '{"files": {}}', '"files"'])
def test_a_changed_copy_is_refused_whatever_its_manifest_says(
        source_dir: Path, tmp_path: Path, manifest: str | None) -> None:
    """Item 8: with the source manifest missing, unreadable or empty, the hash check was skipped:
    a truncated model.safetensors was accepted, got a fresh manifest and "verified"."""
    stick = _stick(source_dir, tmp_path)
    model = stick / "models" / "bert-base-uncased"
    _truncate(model / "model.safetensors")
    if manifest is None:
        (model / MANIFEST).unlink()
    else:
        (model / MANIFEST).write_text(manifest)
    out = tmp_path / "class"
    [result] = prefetch.prefetch(out, FolderSource(stick), ["bert-base-uncased"])
    assert result.status == "failed"
    assert ("model.safetensors" in result.detail) if manifest is None else ("manifest" in result.detail)
    assert not (out / "models" / "bert-base-uncased").exists()


def test_a_file_the_source_manifest_does_not_list_is_refused(source_dir: Path, tmp_path: Path) -> None:
    stick = _stick(source_dir, tmp_path)
    (stick / "data" / "emotion" / "labels.txt").write_text("joy\n")  # relisted nowhere
    manifest = json.loads((stick / "data" / "emotion" / MANIFEST).read_text())
    del manifest["files"]["labels.txt"]
    (stick / "data" / "emotion" / MANIFEST).write_text(json.dumps(manifest))
    [result] = prefetch.prefetch(tmp_path / "class", FolderSource(stick), ["emotion"])
    assert result.status == "failed" and "labels.txt" in result.detail and "manifest" in result.detail


def test_a_bare_source_is_checked_by_loading_what_it_holds(source_dir: Path, tmp_path: Path) -> None:
    """Item 8: a bare folder (no manifest) with a truncated 2 MB model.safetensors was accepted
    because model validation only checked that the files existed."""
    model = source_dir / "models" / "bert-base-uncased"
    save_file({"embeddings": np.zeros((1000, 500), dtype=np.float32)}, model / "model.safetensors")
    _truncate(model / "model.safetensors")
    [result] = prefetch.prefetch(tmp_path / "a", FolderSource(source_dir), ["bert-base-uncased"])
    assert result.status == "failed" and "model.safetensors" in result.detail
    save_file({"embeddings": np.zeros((1000, 500), dtype=np.float32)}, model / "model.safetensors")
    (model / "config.json").write_text("{not json")
    [result] = prefetch.prefetch(tmp_path / "b", FolderSource(source_dir), ["bert-base-uncased"])
    assert result.status == "failed" and "config.json" in result.detail
    (model / "config.json").write_text('{"model_type": "bert"}')
    [result] = prefetch.prefetch(tmp_path / "c", FolderSource(source_dir), ["bert-base-uncased"])
    assert result.status == "fetched", result.detail


@pytest.mark.parametrize("where", ["models/bert-base-uncased/notes.txt", "data/emotion/labels.txt"])
def test_symlinks_out_of_the_source_are_never_followed(source_dir: Path, tmp_path: Path, where: str) -> None:
    """Item 9: `ln -s /etc/shadow SRC/models/bert-base-uncased/notes.txt` copied the secret."""
    secret = tmp_path / "secret"
    secret.write_text("root:$6$secret\n")
    link = source_dir / where
    link.unlink(missing_ok=True)
    link.symlink_to(secret)
    out = tmp_path / "class"
    key = where.split("/")[1]
    [result] = prefetch.prefetch(out, FolderSource(source_dir), [key])
    assert result.status == "failed" and "symbolic link" in result.detail
    assert not any("secret" in p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())


@pytest.mark.parametrize(("manifest", "problem"), [
    ('{"files": []}', "malformed manifest"),
    ('"a bare string"', "malformed manifest"),
    ('{"files": {"labels.txt": {"bytes": "many", "sha256": "00"}}}', "malformed manifest"),
    ('{"files": {}}', "manifest lists no files"),
    (None, "not in the manifest: extra.txt"),
    ("[" * 200_000, "unreadable manifest"),  # issue 28, item 6: a raw RecursionError
])
def test_check_reports_malformed_manifests_and_unlisted_files(
        source_dir: Path, tmp_path: Path, manifest: str | None, problem: str) -> None:
    """Item 10: these crashed --check (AttributeError, ValueError, TypeError) or, for an empty
    manifest and unlisted extra files, called the folder "verified"."""
    out = tmp_path / "copies"
    prefetch.prefetch(out, FolderSource(source_dir), ["emotion"])
    folder = out / "data" / "emotion"
    if manifest is None:
        (folder / "extra.txt").write_text("who put this here?")
    else:
        (folder / MANIFEST).write_text(manifest)
    [result] = prefetch.prefetch(out, None, ["emotion"], check=True)
    assert result.status == "corrupt" and problem in result.detail


def test_a_deeply_nested_manifest_is_fetched_again(source_dir: Path, tmp_path: Path) -> None:
    """Issue 28, item 6: 200k `[` in the manifest of a folder raised RecursionError in any
    prefetch into it; the copy is treated as unverifiable and fetched again."""
    out = tmp_path / "copies"
    prefetch.prefetch(out, FolderSource(source_dir), ["emotion"])
    (out / "data" / "emotion" / MANIFEST).write_text("[" * 200_000)
    [result] = prefetch.prefetch(out, FolderSource(source_dir), ["emotion"])
    assert result.status != "failed", result.detail
    assert prefetch.read_manifest(out / "data" / "emotion")[1] is None


def test_check_changes_nothing_so_a_read_only_copy_can_be_checked(source_dir: Path, tmp_path: Path) -> None:
    """Item 10: --check took a lock file in the folder, a PermissionError on a read-only USB
    stick. As root (who may write anyway) the test shows that nothing is written."""
    out = tmp_path / "copies"
    prefetch.prefetch(out, FolderSource(source_dir), ["emotion"])
    (out / ".prefetch.lock").unlink()
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    for folder in [out, *(p for p in out.rglob("*") if p.is_dir())]:
        folder.chmod(0o555)
    try:
        assert _cli("prefetch", "--check", "--out", str(out), "--only", "emotion") == 0
    finally:
        for folder in [out, *(p for p in out.rglob("*") if p.is_dir())]:
            folder.chmod(0o755)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert _cli("prefetch", "--check", "--out", str(tmp_path / "nowhere"), "--only", "emotion") == 1
    assert not (tmp_path / "nowhere").exists()


def test_an_unreachable_hub_fails_at_once_and_names_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Item 11: each item retried for ~30 s (~5 minutes in all) with noisy output. One check
    up front now: HF_HUB_OFFLINE (set for the tests), then a closed port standing in for a
    network that does not reach the hub."""
    import huggingface_hub.constants

    from bertcourse.tools import cli

    fetched = []
    monkeypatch.setattr(HubSource, "fetch_model", lambda self, entry, dest: fetched.append(entry.key))
    for offline in (True, False):
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", offline)
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens
        assert cli.main(["prefetch", "--out", str(tmp_path / "copies")]) == 2
        err = capsys.readouterr().err
        assert "cannot reach the Hugging Face hub" in err and "--from DIR" in err
        assert fetched == [] and not (tmp_path / "copies").exists()
