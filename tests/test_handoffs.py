"""Hand-offs travel from an instructor's course home to a learner's: `bertcourse handoffs export /
import / list`, the provenance saved with each model, and the line a lesson prints when it loads an
imported one. Import trusts nothing in the file: each bad archive is refused in one line, and the
learner's course home is left exactly as it was."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from transformers import BertConfig, BertForPreTraining, BertModel

import bertcourse
from bertcourse.course import handoffs
from bertcourse.course.metrics_report import report_metric
from bertcourse.tools import cli
from bertcourse.tools import handoffs as command

pytestmark = pytest.mark.usefixtures("fresh_profile")


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a new process as far as provenance goes: no lesson started, nothing reported."""
    monkeypatch.setattr(handoffs, "_session", handoffs._Session())
    monkeypatch.delenv("BERTCOURSE_METRICS_FILE", raising=False)


def tiny_model(seed: int) -> BertForPreTraining:
    import torch

    torch.manual_seed(seed)
    return BertForPreTraining(BertConfig(vocab_size=40, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                         intermediate_size=16, max_position_embeddings=16))


def lesson_saves(home: Path, monkeypatch: pytest.MonkeyPatch, seed: int = 0, metrics: bool = True) -> Path:
    """What notebook 03 does, in short: start, report its metrics, save its model into the course home."""
    monkeypatch.setenv("BERTCOURSE_HOME", str(home))
    monkeypatch.setattr(handoffs, "_session", handoffs._Session())
    handoffs.lesson_started("03_pretraining")
    handoffs.training_finished(steps=1500, seconds=125.0)
    if metrics:
        report_metric("MLM loss", 4.25, quiet=True)
        report_metric("MLM accuracy at [MASK]", 0.3125, headline=False, quiet=True)
    folder = bertcourse.paths.artifacts_dir("03_pretrained")
    tiny_model(seed).save_pretrained(folder)
    (folder / "vocab.txt").write_text("".join(f"w{i}\n" for i in range(40)))
    return folder


def snapshot(root: Path) -> dict[str, str]:
    """Every path under `root` with the sha256 of each file: 'nothing was written' is checked against it."""
    if not root.exists():
        return {}
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
            for path in sorted(root.rglob("*"))}


def run(*argv: str) -> int:
    return cli.main(["handoffs", *argv])


@pytest.fixture()
def exported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An instructor's course home with notebook 03's model, exported."""
    lesson_saves(tmp_path / "instructor", monkeypatch)
    archive = tmp_path / "class.tar"
    assert run("export", "--out", str(archive)) == 0
    return archive


def test_export_and_import_round_trip_between_two_course_homes(exported: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    instructor = tmp_path / "instructor" / "artifacts" / "03_pretrained"
    with tarfile.open(exported) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert names[0] == "manifest.json" and "handoffs/03_pretrained/model.safetensors" in names
    entry = manifest["handoffs"]["03_pretrained"]
    record = entry["provenance"]
    assert record["notebook"] == "03_pretraining" and record["profile"] == "laptop" and record["steps"] == 1500
    assert record["training_minutes"] == pytest.approx(125 / 60, abs=0.01) and record["device"].startswith("CPU")
    assert [row["name"] for row in record["metrics"]] == ["MLM loss", "MLM accuracy at [MASK]"]
    assert entry["files"]["config.json"]["sha256"] == hashlib.sha256((instructor / "config.json").read_bytes()).hexdigest()
    assert set(entry["files"]) == {path.name for path in instructor.iterdir()}  # the record lies beside, not in it

    learner = tmp_path / "learner"
    monkeypatch.setenv("BERTCOURSE_HOME", str(learner))
    capsys.readouterr()
    assert run("import", str(exported)) == 0
    out = capsys.readouterr().out
    imported = learner / "artifacts" / "03_pretrained"
    assert "03_pretrained" in out and "imported: CPU session of" in out and "imported: imported" not in out
    assert {path.name for path in imported.iterdir()} == set(entry["files"])
    for name in entry["files"]:
        assert (imported / name).read_bytes() == (instructor / name).read_bytes()
    assert sorted(path.name for path in (learner / "artifacts").iterdir()) == ["03_pretrained",
                                                                                "03_pretrained.provenance.json"]
    assert handoffs.read(imported).imported["archive"] == "class.tar"

    assert run("list") == 0
    listed = capsys.readouterr().out
    assert "03_pretrained          imported: CPU session of" in listed
    assert "2.1 min on CPU" in listed and "1,500 steps" in listed and "MLM loss 4.25" in listed
    assert "04_emotion_classifier  not saved yet (run notebook 04_finetuning" in listed

    assert run("import", str(exported)) == 0  # the same file again: nothing to replace, nothing asked
    assert "already imported, unchanged" in capsys.readouterr().out


def test_a_lesson_loading_an_imported_handoff_prints_its_provenance(exported: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Notebooks 04 and 09 use `saved_checkpoint`, 06 `load_model`: both say where an imported model
    came from, once. A learner's own run prints nothing new (the committed outputs stay the same)."""
    own = bertcourse.paths.saved_checkpoint("03_pretrained")  # the instructor's home: their own run
    assert own.name == "03_pretrained" and capsys.readouterr().out == ""

    monkeypatch.setenv("BERTCOURSE_HOME", str(tmp_path / "learner"))
    assert run("import", str(exported)) == 0
    capsys.readouterr()
    bertcourse.paths.saved_checkpoint("03_pretrained")
    line = capsys.readouterr().out
    assert line.startswith("03_pretrained: imported: CPU session of ") and line.count("\n") == 1
    assert "1,500 steps; MLM loss 4.25, MLM accuracy at [MASK] 0.3125 (notebook 03_pretraining, laptop profile" in line
    assert isinstance(bertcourse.load_model("03_pretrained", BertModel), BertModel)
    assert capsys.readouterr().out == "Model (BertModel): 03_pretrained from your course home (saved by notebook 03_pretraining)\n"


def test_provenance_records_metrics_reported_after_the_save_and_an_old_handoff_is_your_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Notebook 06 reports its F1 after saving its model; a hand-off saved before provenance existed
    is listed, exported and imported as 'your run, details unknown'."""
    folder = lesson_saves(tmp_path / "home", monkeypatch, metrics=False)
    assert handoffs.read(folder).metrics == []
    report_metric("entity F1", 0.5, quiet=True)
    assert [row["name"] for row in handoffs.read(folder).metrics] == ["entity F1"]

    handoffs.record_file(folder).unlink()
    assert run("list") == 0
    assert f"03_pretrained          {handoffs.UNKNOWN}" in capsys.readouterr().out
    assert run("export", "--out", str(tmp_path / "old.tar")) == 0
    monkeypatch.setenv("BERTCOURSE_HOME", str(tmp_path / "learner"))
    assert run("import", str(tmp_path / "old.tar")) == 0
    record = handoffs.read(tmp_path / "learner" / "artifacts" / "03_pretrained")
    assert record.profile == "unknown" and record.line().startswith("imported: session of ")


def test_a_lesson_saving_over_an_imported_handoff_keeps_it_aside(exported: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A learner who imports first and then runs notebook 03 does not mix the two models in one folder."""
    learner = tmp_path / "learner"
    monkeypatch.setenv("BERTCOURSE_HOME", str(learner))
    assert run("import", str(exported)) == 0
    capsys.readouterr()
    folder = lesson_saves(learner, monkeypatch, seed=1)
    said = capsys.readouterr().out
    kept = [path for path in (learner / "artifacts").iterdir() if path.is_dir() and path.name.startswith("03_pretrained.imported-")]
    assert len(kept) == 1 and str(kept[0]) in said
    assert handoffs.read(kept[0]).imported is not None and handoffs.read(folder).imported is None
    assert (kept[0] / "model.safetensors").read_bytes() != (folder / "model.safetensors").read_bytes()


def test_replace_keeps_the_learners_own_model_aside(exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    learner = tmp_path / "learner"
    own = lesson_saves(learner, monkeypatch, seed=1)
    before = snapshot(learner)
    capsys.readouterr()
    assert run("import", str(exported)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds 03_pretrained (your run of" in err and "--replace" in err
    assert snapshot(learner) == before

    assert run("import", str(exported), "--replace") == 0
    out = capsys.readouterr().out
    kept = [path for path in (learner / "artifacts").iterdir() if path.is_dir() and path.name.startswith("03_pretrained.before-import-")]
    assert len(kept) == 1 and f"kept in {kept[0]}" in out
    kept_files = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in kept[0].iterdir()}
    assert kept_files == {key.split("/")[-1]: sha for key, sha in before.items() if key.startswith("artifacts/03_pretrained/")}
    assert handoffs.read(own).imported is not None and handoffs.read(kept[0]).imported is None  # records moved too
    assert run("list") == 0
    assert f"kept aside: {kept[0].name}  your run of" in capsys.readouterr().out


def rewrite(archive: Path, target: Path, change: Callable[[list[tuple[tarfile.TarInfo, bytes | None]]], None]) -> Path:
    """A copy of `archive` whose members (info, data) `change` edits in place."""
    with tarfile.open(archive) as tar:
        members = [(member, tar.extractfile(member).read() if member.isfile() else None) for member in tar]
    change(members)
    with tarfile.open(target, "w") as tar:
        for member, data in members:
            if data is not None:
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    return target


def tamper_config(members: list) -> None:
    index = next(i for i, (member, _) in enumerate(members) if member.name.endswith("/config.json"))
    member, data = members[index]
    members[index] = (member, data.replace(b'"hidden_size": 8', b'"hidden_size": 9'))


def extra_member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "",
                 data: bytes | None = b"{}") -> Callable[[list], None]:
    def change(members: list) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        members.append((info, data if kind == tarfile.REGTYPE else None))
    return change


def in_manifest(edit: Callable[[dict], None]) -> Callable[[list], None]:
    def change(members: list) -> None:
        member, data = members[0]
        manifest = json.loads(data)
        edit(manifest)
        members[0] = (member, json.dumps(manifest).encode())
    return change


def unknown_handoff(manifest: dict) -> None:
    manifest["handoffs"]["99_unknown"] = manifest["handoffs"]["03_pretrained"]


BAD_ARCHIVES = {
    "tampered file": (tamper_config, "does not match the sha256"),
    "path traversal": (extra_member("handoffs/03_pretrained/../../../evil.json"), "climbs out of its folder"),
    "absolute path": (extra_member("/tmp/evil.json"), "absolute path"),
    "symlink": (extra_member("handoffs/03_pretrained/vocab2.txt", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link"),
    "hard link": (extra_member("handoffs/03_pretrained/vocab2.txt", tarfile.LNKTYPE, "/etc/passwd"), "hard link"),
    "device file": (extra_member("handoffs/03_pretrained/null.txt", tarfile.CHRTYPE), "device file"),
    "unlisted file": (extra_member("handoffs/03_pretrained/extra.json"), "is not a file its manifest lists"),
    "unknown name": (in_manifest(unknown_handoff), "unknown hand-off '99_unknown'"),
    "unknown member": (extra_member("handoffs/99_unknown/config.json"), "unknown hand-off '99_unknown'"),
    "newer course": (in_manifest(lambda manifest: manifest.update(course_version="9.0.0")),
                     "course version 9.0.0, incompatible"),
    "pickle listed": (in_manifest(lambda manifest: manifest["handoffs"]["03_pretrained"]["files"].update(
        {"training_args.bin": {"bytes": 1, "sha256": "0" * 64}})), "not a model file"),
    "not an export": (in_manifest(lambda manifest: manifest.update(kind="something")), "not a bertcourse hand-off"),
}


@pytest.mark.parametrize("case", [*BAD_ARCHIVES, "truncated", "not a tar file"])
def test_a_bad_archive_is_refused_in_one_line_and_nothing_is_written(case: str, exported: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    if case == "truncated":
        bad, expected = tmp_path / "bad.tar", "truncated"
        bad.write_bytes(exported.read_bytes()[: exported.stat().st_size // 2])
    elif case == "not a tar file":
        bad, expected = tmp_path / "bad.tar", "truncated or damaged"
        bad.write_bytes(b"PK\x03\x04 this is a zip, or anything else")
    else:
        change, expected = BAD_ARCHIVES[case]
        bad = rewrite(exported, tmp_path / "bad.tar", change)
    learner = tmp_path / "learner"
    monkeypatch.setenv("BERTCOURSE_HOME", str(learner))
    lesson_saves(learner, monkeypatch, seed=1)  # the learner's own 03 model, which must stay as it is
    (learner / "artifacts" / "04_emotion_classifier").mkdir()  # a folder a lesson created but saved nothing in
    before = snapshot(learner)
    capsys.readouterr()
    assert run("import", str(bad), "--replace") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot import bad.tar: ") and err.count("\n") == 1, err
    assert expected in err and err.rstrip().endswith("nothing was written.")
    assert snapshot(learner) == before
    assert not list(tmp_path.glob("**/evil.json")) and not Path("/tmp/evil.json").exists()


def test_the_untampered_copy_of_a_rewritten_archive_imports(exported: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The control for the refusals above: rewriting alone changes nothing the import checks."""
    same = rewrite(exported, tmp_path / "same.tar", lambda members: None)
    monkeypatch.setenv("BERTCOURSE_HOME", str(tmp_path / "learner"))
    assert run("import", str(same)) == 0


def test_export_names_what_is_missing_and_packs_only_loadable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BERTCOURSE_HOME", str(tmp_path / "empty"))
    assert run("export", "--out", str(tmp_path / "x.tar")) == 2
    assert "no hand-offs in" in capsys.readouterr().err and not (tmp_path / "x.tar").exists()
    folder = lesson_saves(tmp_path / "home", monkeypatch)
    assert run("export", "04_emotion_classifier", "--out", str(tmp_path / "x.tar")) == 2
    assert "run notebook 04_finetuning there first" in capsys.readouterr().err
    (folder / "training_args.bin").write_bytes(b"a pickle")
    (folder / "checkpoint").mkdir()
    (folder / "checkpoint" / "rng.pt").write_bytes(b"another pickle")
    assert run("export", "--home", str(tmp_path / "home"), "--out", str(tmp_path / "x.tar")) == 0
    with tarfile.open(tmp_path / "x.tar") as tar:
        packed = {name.rsplit("/", 1)[-1] for name in tar.getnames()}
    assert "training_args.bin" not in packed and "rng.pt" not in packed and "model.safetensors" in packed
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".partial")] == []


def test_notebook_04_gains_a_row_only_for_an_imported_03_model(exported: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from bertcourse.classification import imported_pretraining_row

    labels, ours, served = [0, 1, 2, 1] * 10, [0, 1, 1, 1] * 10, [0, 1, 2, 2] * 10
    assert imported_pretraining_row(labels, ours, served, "MiniLM") == {}  # the instructor's own run
    monkeypatch.setenv("BERTCOURSE_HOME", str(tmp_path / "learner"))
    assert imported_pretraining_row(labels, ours, served, "MiniLM") == {}  # nothing saved at all
    assert run("import", str(exported)) == 0
    row = imported_pretraining_row(labels, ours, served, "MiniLM")
    (label, scores), = row.items()
    assert label.startswith("notebook 03's BERT (imported: CPU session of ") and "minus MiniLM" in label
    assert scores["accuracy"].value == pytest.approx(0.0)  # 0.75 - 0.75, paired


def test_a_gpu_sessions_model_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a learner reads about the instructor's model: the GPU, the minutes, the steps. The GPU is
    simulated (this machine may have none): the record reads the device from the loaded torch."""
    from types import SimpleNamespace

    cuda = SimpleNamespace(is_available=lambda: True, device_count=lambda: 1,
                           get_device_name=lambda index: "NVIDIA H100 80GB HBM3")
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(cuda=cuda))
    monkeypatch.setenv("BERTCOURSE_PROFILE", "gpu")
    handoffs.lesson_started("03_pretraining")
    handoffs.training_finished(steps=4800, seconds=20 * 60)
    record = handoffs._record("03_pretrained", "03_pretraining")
    assert (record.device, record.gpu, record.profile) == ("NVIDIA H100 80GB HBM3", True, "gpu")
    imported = handoffs.Provenance(**{**record.__dict__, "imported": {"at": "now", "archive": "class.tar"}})
    assert imported.line().startswith(f"imported: GPU session of {record.created[:10]}, 20 min on NVIDIA H100 80GB "
                                      "HBM3, 4,800 steps (notebook 03_pretraining, gpu profile, course ")


def test_a_full_disk_during_import_leaves_the_course_home_as_it_was(exported: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The disk fills while the files are written (simulated: the writer stops half way with ENOSPC):
    the half-written staging folder is removed, the learner's own model stays, the error is one line."""
    import errno

    learner = tmp_path / "learner"
    lesson_saves(learner, monkeypatch, seed=1)
    before = snapshot(learner)
    write = command._write_staging

    def fill_up(archive: Path, planned: dict, stagings: dict) -> None:
        (next(iter(stagings.values())) / "config.json").write_text("{")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(command, "_write_staging", fill_up)
    capsys.readouterr()
    assert run("import", str(exported), "--replace") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "import again" in err
    assert snapshot(learner) == before
    monkeypatch.setattr(command, "_write_staging", write)
    assert run("import", str(exported), "--replace") == 0
