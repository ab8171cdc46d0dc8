"""`bertcourse handoffs export | import | list`: an instructor's GPU session hands its models to
the learners' laptops, verified and traceable.

    bertcourse handoffs export --home RUN/home --out class-models.tar   # instructor, after `bertcourse run`
    bertcourse handoffs import class-models.tar                         # each learner
    bertcourse handoffs list                                            # what the course home holds, and from where

An export is one uncompressed tar file (model weights do not compress): `manifest.json` first, then
`handoffs/<name>/<file>` for each hand-off. The manifest records the course version and commit and,
for each hand-off, how it was made (`bertcourse.course.handoffs.Provenance`: notebook, profile,
device, steps or minutes, the metrics the notebook reported, creation time) and the size and sha256
of every file. Only the files a model is loaded from travel (`*.json`, `*.safetensors`, `*.txt` at the
top of the folder): never optimizer or random-number state, nor `training_args.bin`, which are
pickles that run code when loaded.

Importing trusts nothing in the file. It reads the whole archive once and checks it before writing
anything: the manifest's structure and course version; every member's path (no absolute path, no
`..`), type (regular files only: no links, no device files), name (a known hand-off, a loadable file
the manifest lists, once) and size and sha256; and that no listed file is missing (a truncated
archive). Each refusal is one line, and nothing is written. Then each hand-off is written into a
hidden temporary folder beside its place (hashes checked again while writing) and renamed into
place. A folder that already holds a model is replaced only with `--replace`, and is then kept
aside under a visible name the command prints.

Room: tools (instructor and author commands); may import anything in the package.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from bertcourse.course import handoffs
from bertcourse.course.errors import CourseError
from bertcourse.course.formats import sha256_of
from bertcourse.course.handoffs import Provenance
from bertcourse.course.paths import course_home
from bertcourse.course.registry import HANDOFFS

KIND = "bertcourse-handoffs"
MANIFEST = "manifest.json"
ROOT = "handoffs"
_LOADABLE = (".json", ".safetensors", ".txt")
_MANIFEST_LIMIT = 1 << 20  # a manifest lists a few dozen files: anything larger is not one
_SHA256 = re.compile(r"[0-9a-f]{64}")
_BLOCK = 1 << 20
_STAGING = ".importing-"


def _loadable(name: str) -> bool:
    """A file a hand-off is loaded from: config, weights, tokenizer, summaries (top level, no hidden files)."""
    return "/" not in name and not name.startswith(".") and name.endswith(_LOADABLE)


def _artifacts(home: str | None) -> Path:
    """The course home's `artifacts/` (`--home`, else the learner's own course home)."""
    return (Path(home).expanduser().resolve() if home else course_home()) / "artifacts"


def _holds_model(folder: Path) -> bool:
    return (folder / "config.json").is_file()


def _occupied(folder: Path) -> bool:
    """A folder with anything in it (a lesson creates its folder empty before saving into it)."""
    return folder.is_dir() and any(folder.iterdir())


# ---------------------------------------------------------------------------------------------
# Export


def _unknown_provenance(name: str, folder: Path) -> Provenance:
    """The record of a hand-off saved before the course recorded provenance: only what the folder says."""
    made = datetime.fromtimestamp((folder / "config.json").stat().st_mtime, UTC).isoformat(timespec="seconds")
    return Provenance(handoff=name, notebook=HANDOFFS[name].made_by, profile="unknown", smoke=False,
                      course_version=handoffs.course_version(), course_commit=None, device="an unrecorded device",
                      gpu=False, created=made)


def _files_to_export(name: str, folder: Path) -> dict[str, dict[str, Any]]:
    files = {}
    for path in sorted(folder.iterdir()):
        if not _loadable(path.name):
            continue
        if path.is_symlink() or not path.is_file():
            raise CourseError(f"{path} is a link or not a regular file; export copies only regular files "
                              f"(save the {name} model again).")
        files[path.name] = {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
    return files


def export(names: Sequence[str], out: Path, home: str | None = None) -> Path:
    """Pack hand-offs `names` (default: every one present) from a course home into the archive `out`."""
    artifacts = _artifacts(home)
    unknown = [name for name in names if name not in HANDOFFS]
    if unknown:
        raise CourseError(f"unknown hand-off(s) {', '.join(unknown)}; the course's are {', '.join(HANDOFFS)}.")
    chosen = list(names) or [name for name in HANDOFFS if _holds_model(artifacts / name)]
    if not chosen:
        raise CourseError(f"no hand-offs in {artifacts} to export: run notebooks 03, 04 and 06 there first "
                          "(`bertcourse run 03 04 06 --profile gpu`), or give --home the run's course home.")
    missing = [name for name in chosen if not _holds_model(artifacts / name)]
    if missing:
        raise CourseError(f"no saved {', '.join(missing)} in {artifacts}: run notebook "
                          f"{', '.join(HANDOFFS[name].made_by for name in missing)} there first.")
    manifest: dict[str, Any] = {"kind": KIND, "format": handoffs.FORMAT, "course_version": handoffs.course_version(),
                                "exported": datetime.now(UTC).isoformat(timespec="seconds"), "handoffs": {}}
    for name in chosen:
        folder = artifacts / name
        record = handoffs.read(folder) or _unknown_provenance(name, folder)
        manifest["handoffs"][name] = {"provenance": asdict(replace(record, imported=None)),
                                      "files": _files_to_export(name, folder)}
    out = out.expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)[1])
    try:
        with tarfile.open(temporary, "w", format=tarfile.PAX_FORMAT) as tar:
            document = json.dumps(manifest, indent=1).encode()
            _add(tar, MANIFEST, io.BytesIO(document), len(document))
            for name, entry in manifest["handoffs"].items():
                for file, row in entry["files"].items():
                    with (artifacts / name / file).open("rb") as handle:
                        _add(tar, f"{ROOT}/{name}/{file}", handle, row["bytes"])
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
    total = sum(row["bytes"] for entry in manifest["handoffs"].values() for row in entry["files"].values())
    print(f"Exported {len(chosen)} hand-off(s), {total / 1e6:.1f} MB, to {out}")
    for name, entry in manifest["handoffs"].items():
        print(f"  {name:22s} {Provenance.from_json(entry['provenance']).line()}")
    print(f"Learners import it with:  bertcourse handoffs import {out.name}")
    return out


def _add(tar: tarfile.TarFile, name: str, handle: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, int(time.time())
    tar.addfile(info, handle)


# ---------------------------------------------------------------------------------------------
# Import: check everything, then write


class Refused(CourseError):
    """An archive the import will not write anything from; the message is one line."""


@dataclass(frozen=True)
class Planned:
    """One hand-off an archive holds, checked: its files (name -> (bytes, sha256)) and its record."""

    name: str
    files: dict[str, tuple[int, str]]
    provenance: Provenance


def _refuse(archive: Path, problem: str) -> Refused:
    return Refused(f"cannot import {archive.name}: {problem}; nothing was written.")


def _parse_manifest(archive: Path, raw: bytes) -> dict[str, Planned]:
    """The hand-offs a manifest lists, or a refusal: the manifest is untrusted input like the rest."""
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _refuse(archive, "its manifest.json is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise _refuse(archive, "it is not a bertcourse hand-off archive (made by `bertcourse handoffs export`)")
    if manifest.get("format") != handoffs.FORMAT:
        raise _refuse(archive, f"it has archive format {manifest.get('format')!r} and this course reads format "
                               f"{handoffs.FORMAT} (export it again with this course's version)")
    version = manifest.get("course_version")
    if not isinstance(version, str) or not handoffs.compatible(version):
        raise _refuse(archive, f"it comes from course version {version}, incompatible with this course's "
                               f"{handoffs.course_version()} (export it again with the version the class uses)")
    listed = manifest.get("handoffs")
    if not isinstance(listed, dict) or not listed:
        raise _refuse(archive, "its manifest lists no hand-offs")
    planned = {}
    for name, entry in listed.items():
        if name not in HANDOFFS:
            raise _refuse(archive, f"it holds an unknown hand-off {name!r} (this course's are {', '.join(HANDOFFS)})")
        files = entry.get("files") if isinstance(entry, dict) else None
        record = Provenance.from_json(entry.get("provenance")) if isinstance(entry, dict) else None
        if record is None or record.handoff != name:
            raise _refuse(archive, f"the manifest's record of how {name} was made is missing or malformed")
        if not isinstance(files, dict) or "config.json" not in files:
            raise _refuse(archive, f"the manifest lists no config.json for {name}")
        checked = {}
        for file, row in files.items():
            if not isinstance(file, str) or not _loadable(file):
                raise _refuse(archive, f"the manifest lists {file!r} for {name}, which is not a model file "
                                       f"({', '.join(_LOADABLE)} at the top of the folder)")
            if (not isinstance(row, dict) or type(row.get("bytes")) is not int or row["bytes"] < 0
                    or not isinstance(row.get("sha256"), str) or not _SHA256.fullmatch(row["sha256"])):
                raise _refuse(archive, f"the manifest's size or sha256 of {name}/{file} is malformed")
            checked[file] = (row["bytes"], row["sha256"])
        planned[name] = Planned(name, checked, record)
    return planned


def _member_problem(member: tarfile.TarInfo) -> str | None:
    """Why a member may not be written, whatever the manifest says (path first, then type)."""
    path = PurePosixPath(member.name)
    if member.name.startswith("/") or path.is_absolute():
        return f"member {member.name!r} has an absolute path"
    if ".." in path.parts:
        return f"member {member.name!r} climbs out of its folder with '..'"
    if member.issym() or member.islnk():
        return f"member {member.name!r} is a {'symbolic' if member.issym() else 'hard'} link"
    if member.isdev():
        return f"member {member.name!r} is a device file or pipe"
    if not member.isfile():
        return f"member {member.name!r} is not a regular file"
    parts = path.parts
    if len(parts) == 3 and parts[0] == ROOT and parts[1] not in HANDOFFS:
        return f"member {member.name!r} belongs to an unknown hand-off {parts[1]!r}"
    return None


def _reason(err: BaseException) -> str:
    """The last line of a library's error (tarfile lists one line per compression it tried)."""
    lines = [line.strip(" -") for line in str(err).splitlines() if line.strip(" -")]
    return (lines[-1] if lines else type(err).__name__)[:120]


def _digest(handle: IO[bytes]) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    for block in iter(lambda: handle.read(_BLOCK), b""):
        digest.update(block)
        size += len(block)
    return size, digest.hexdigest()


def _expected(planned: dict[str, Planned]) -> dict[str, tuple[str, str, int, str]]:
    """member name -> (hand-off, file, bytes, sha256)."""
    return {f"{ROOT}/{item.name}/{file}": (item.name, file, size, sha)
            for item in planned.values() for file, (size, sha) in item.files.items()}


def _members(archive: Path) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    """The archive's members in order; a damaged or truncated archive is a refusal."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                yield tar, member
    except (tarfile.TarError, EOFError, zlib.error) as err:
        raise _refuse(archive, f"it is truncated or damaged ({_reason(err)})") from None
    except OSError as err:
        raise _refuse(archive, f"it cannot be read ({err.strerror or err})") from None


def check_archive(archive: Path) -> dict[str, Planned]:
    """Read the whole archive and check it (see the module docstring); writes nothing."""
    if not archive.is_file():
        raise Refused(f"cannot import {archive}: no such file.")
    planned: dict[str, Planned] | None = None
    expected: dict[str, tuple[str, str, int, str]] = {}
    seen: set[str] = set()
    try:
        for tar, member in _members(archive):
            if planned is None:
                if member.name != MANIFEST or not member.isfile() or member.size > _MANIFEST_LIMIT:
                    raise _refuse(archive, "it does not start with a hand-off manifest "
                                           "(make it with `bertcourse handoffs export`)")
                planned = _parse_manifest(archive, tar.extractfile(member).read())
                expected = _expected(planned)
                continue
            problem = _member_problem(member)
            if problem is not None:
                raise _refuse(archive, problem)
            if member.name not in expected:
                raise _refuse(archive, f"member {member.name!r} is not a file its manifest lists")
            if member.name in seen:
                raise _refuse(archive, f"member {member.name!r} appears twice")
            seen.add(member.name)
            size, sha = _digest(tar.extractfile(member))
            if (size, sha) != expected[member.name][2:]:
                raise _refuse(archive, f"{member.name} does not match the sha256 its manifest records "
                                       "(the file was changed or damaged)")
    except (tarfile.TarError, EOFError, zlib.error) as err:  # raised while reading a member's data
        raise _refuse(archive, f"it is truncated or damaged ({_reason(err)})") from None
    if planned is None:
        raise _refuse(archive, "it is empty")
    absent = sorted(set(expected) - seen)
    if absent:
        raise _refuse(archive, f"it is truncated or incomplete: {absent[0]}"
                               + (f" and {len(absent) - 1} more file(s)" if len(absent) > 1 else "")
                               + " listed in its manifest are missing")
    return planned


def _same(folder: Path, item: Planned) -> bool:
    """Whether `folder` already holds exactly these files (the same archive imported again)."""
    present = {path.name for path in folder.iterdir() if _loadable(path.name)}
    return present == set(item.files) and all(
        (folder / file).stat().st_size == size and sha256_of(folder / file) == sha
        for file, (size, sha) in item.files.items())


def _write_staging(archive: Path, planned: dict[str, Planned], stagings: dict[str, Path]) -> None:
    """Extract every listed file into its hand-off's staging folder, checking each hash again (the
    file could have changed since it was checked)."""
    expected = _expected(planned)
    for tar, member in _members(archive):
        if member.name not in expected:
            continue
        name, file, size, sha = expected[member.name]
        source = tar.extractfile(member)
        digest, written = hashlib.sha256(), 0
        with (stagings[name] / file).open("xb") as sink:
            for block in iter(lambda: source.read(_BLOCK), b""):
                digest.update(block)
                written += len(block)
                sink.write(block)
        if (written, digest.hexdigest()) != (size, sha):
            raise _refuse(archive, f"{member.name} changed while it was being imported")


def import_archive(archive: Path, replace_existing: bool = False, home: str | None = None) -> list[str]:
    """Check `archive`, then write its hand-offs into the course home; returns the lines it printed."""
    archive = archive.expanduser()
    planned = check_archive(archive)
    artifacts = _artifacts(home)
    unchanged = [name for name in planned if _holds_model(artifacts / name) and _same(artifacts / name, planned[name])]
    todo = {name: item for name, item in planned.items() if name not in unchanged}
    occupied = [name for name in todo if _occupied(artifacts / name)]
    if occupied and not replace_existing:
        held = "; ".join(f"{name} ({handoffs.describe(artifacts / name)})" for name in occupied)
        raise Refused(f"cannot import {archive.name}: your course home already holds {held}; add --replace to "
                      "import anyway (what is there is kept aside, and the command says where); nothing was written.")
    lines = [f"{name:22s} already imported, unchanged" for name in unchanged]
    artifacts.mkdir(parents=True, exist_ok=True)
    stagings: dict[str, Path] = {}
    try:
        for name in todo:
            stagings[name] = Path(tempfile.mkdtemp(prefix=f".{name}{_STAGING}", dir=artifacts))
        if todo:
            _write_staging(archive, todo, stagings)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        for name, item in todo.items():
            handoffs.write(stagings[name], replace(item.provenance, imported={"at": stamp, "archive": archive.name}))
            stagings[name].chmod(artifacts.stat().st_mode & 0o777)  # mkdtemp made it private: as its parent instead
        for name, item in todo.items():
            target = artifacts / name
            kept = ""
            if _occupied(target):
                aside = handoffs.aside_path(target, "before-import")
                handoffs.move(target, aside)
                kept = f" (what was there is kept in {aside})"
            elif target.is_dir():
                target.rmdir()  # the empty folder a lesson created before saving nothing
            handoffs.move(stagings[name], target)
            lines.append(f"{name:22s} {handoffs.describe(target)}{kept}")  # describe() begins "imported: "
    finally:
        for staging in stagings.values():
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
            handoffs.record_file(staging).unlink(missing_ok=True)
    print(f"Imported from {archive} into {artifacts}:")
    for line in lines:
        print(f"  {line}")
    return lines


# ---------------------------------------------------------------------------------------------
# List


def listing(home: str | None = None) -> list[str]:
    """One line per hand-off: where it came from, or which notebook saves it; then what is kept aside."""
    artifacts = _artifacts(home)
    lines = []
    for name, entry in HANDOFFS.items():
        folder = artifacts / name
        state = (handoffs.describe(folder) if _holds_model(folder)
                 else f"not saved yet (run notebook {entry.made_by}, or import it)")
        lines.append(f"{name:22s} {state}")
    kept = sorted(path for path in artifacts.glob("*.*-*") if path.is_dir() and path.name.split(".")[0] in HANDOFFS
                  and not path.name.startswith("."))
    lines += [f"kept aside: {path.name}  {handoffs.describe(path)}" for path in kept]
    return lines


# ---------------------------------------------------------------------------------------------
# The command


def _export_command(args: argparse.Namespace) -> int:
    default = Path(f"bertcourse-handoffs-{datetime.now():%Y%m%d-%H%M}.tar")
    out = Path(args.out) if args.out else default
    try:
        export(args.names, out / default if out.is_dir() else out, args.home)
    except OSError as err:  # a full disk, a folder without write permission
        raise CourseError(f"could not write the export: {err.strerror or err} ({err.filename or out}).") from None
    return 0


def _import_command(args: argparse.Namespace) -> int:
    try:
        import_archive(Path(args.file), args.replace, args.home)
    except OSError as err:  # a full disk, a course home without write permission: the staging folders are gone
        raise CourseError(f"could not write the import: {err.strerror or err} ({err.filename or args.file}); "
                          "free space or fix the permissions, then import again.") from None
    return 0


def _list_command(args: argparse.Namespace) -> int:
    print(f"Hand-offs in {_artifacts(args.home)}:")
    for line in listing(args.home):
        print(f"  {line}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `handoffs` with `export`, `import` and `list` to `bertcourse`'s parser."""
    command = subparsers.add_parser(
        "handoffs", help="export the models lessons hand on (03's BERT, 04's classifier, ...), import them, list them",
        description="Lessons hand models on through your course home (03's pretrained BERT, 04's classifier, "
                    "06's adapted encoder). An instructor exports those of a GPU session into one file; each "
                    "learner imports it, and later lessons continue from the instructor's models, saying so.")
    commands = command.add_subparsers(dest="handoffs_command", required=True, metavar="COMMAND")
    home_help = ("course home to use (default: yours, BERTCOURSE_HOME; `bertcourse run` keeps its own in "
                 "OUT/home)")
    export_parser = commands.add_parser(
        "export", help="pack hand-offs into one file for the class",
        description="Pack hand-offs (default: every one present) into one tar file with a manifest: how each "
                    "was made (notebook, profile, device, steps or minutes, reported metrics, time, course "
                    "version and commit) and the sha256 of every file.")
    export_parser.add_argument("names", nargs="*", metavar="NAME", help=f"hand-offs to pack: {', '.join(HANDOFFS)}")
    export_parser.add_argument("--out", default=None,
                               help="file to write (default: bertcourse-handoffs-<date-time>.tar here)")
    export_parser.add_argument("--home", default=None, help=home_help)
    export_parser.set_defaults(func=_export_command)
    import_parser = commands.add_parser(
        "import", help="check an exported file and add its models to your course home",
        description="Check every file's sha256, path and type before writing anything, then add the hand-offs "
                    "to your course home. A model already there is replaced only with --replace, and kept aside.")
    import_parser.add_argument("file", help="the file `bertcourse handoffs export` wrote")
    import_parser.add_argument("--replace", action="store_true",
                               help="replace hand-offs already in your course home (each is kept aside; the "
                                    "command says where)")
    import_parser.add_argument("--home", default=None, help=home_help)
    import_parser.set_defaults(func=_import_command)
    list_parser = commands.add_parser("list", help="show the hand-offs in your course home and where each came from")
    list_parser.add_argument("--home", default=None, help=home_help)
    list_parser.set_defaults(func=_list_command)
