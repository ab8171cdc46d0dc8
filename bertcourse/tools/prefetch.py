"""`bertcourse prefetch`: local copies of every hub checkpoint and dataset the course names, for
instructors teaching the `gpu` profile in a room with poor internet.

Layout (exactly what `bertcourse.course.resources` reads in the gpu profile):

    <out>/models/<registry key>/      save_pretrained layout: the model with its pretraining heads
                                      (AutoModelForPreTraining) and its tokenizer
    <out>/data/<entry.local_folder>/  the course's local formats (bertcourse.course.formats): {split}.jsonl +
                                      labels.txt, or plain-text corpora with blank lines between documents

Every item is written into a hidden temporary sibling (`.<name>.partial-*`), checked by loading
what can be loaded (config.json parses, every safetensors file is complete, the tokenizer loads;
every data file passes the course's own readers), given a `prefetch-manifest.json` with the size
and sha256 of each file, and only then renamed into place. An interrupted download therefore
never leaves a folder the course would take for complete, and its leftovers are removed on the
next run. Re-running verifies every present item against its manifest, skips it when it matches
and fetches it again when it does not. `--check` only reads: it writes no lock and creates
nothing, so a read-only USB stick can be checked in place.

Where files come from is a `Source`: `HubSource` (the Hugging Face hub) by default, `FolderSource`
(`--from DIR`: another prefetch folder, a USB stick, `../shared/data`) offline. A folder source is
trusted no further than it can be checked: a manifest it carries must list and match every file
copied (a manifest that is unreadable, malformed or incomplete is a reason to refuse, not to skip
the check); without one, the loading checks above are all there is. Symbolic links that lead out
of the source folder are never followed. The hub is checked for reachability once, up front.

Room: tools (instructor and author commands); may import anything in the package.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shlex
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from bertcourse.course import formats
from bertcourse.course.errors import CourseError, IntegrityError
from bertcourse.course.profiles import PROFILES
from bertcourse.course.registry import (DATASETS, MINILM, MODELS, DatasetEntry, ModelEntry, local_dataset_folder,
                                       missing_copy_instructions)

MANIFEST = "prefetch-manifest.json"
PARTIAL = ".partial-"
OLD = ".old-"
_BLOCK = 1 << 20


class NotInSource(Exception):
    """The source has no copy of this item: reported as unavailable, not as a failed download."""


class Source(Protocol):
    """Where prefetch gets things. Each method fills the empty folder `dest` (a temporary
    sibling of the final folder) and raises `NotInSource` when it has no copy."""

    description: str

    def fetch_model(self, entry: ModelEntry, dest: Path) -> None: ...

    def fetch_dataset(self, entry: DatasetEntry, dest: Path) -> None: ...


# ---------------------------------------------------------------------------------------------
# Writing the course's local formats


def _label_names(feature: Any, column: str, entry: DatasetEntry) -> list[str]:
    inner = getattr(feature, "feature", feature)  # List/Sequence(ClassLabel) for token tags
    names = getattr(inner, "names", None)
    if not names:
        raise CourseError(f"Dataset {entry.key!r}: column {column!r} on the hub has no label names.",
                          fix="bring a local copy in the layout README describes and use --from DIR")
    return list(names)


def write_dataset(entry: DatasetEntry, loaded: Any, dest: Path) -> None:
    """Write a hub `DatasetDict` for `entry` into `dest` in the course's local format."""
    kind = formats.FORMATS[entry.kind]
    for split, candidates in entry.local_files.items():
        if split not in loaded:
            continue
        data = loaded[split]
        names = _label_names(data.features[kind.label_column], kind.label_column, entry) if kind.label_column else []
        kind.write(dest / candidates[0], data, names)
        if names:
            (dest / "labels.txt").write_text("".join(name + "\n" for name in names), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Sources


class HubSource:
    """The Hugging Face hub (what production prefetch uses). Downloads show huggingface_hub's own
    progress bars with sizes; files are cached in the usual HF cache, so a retry resumes."""

    description = "the Hugging Face hub"

    def check_reachable(self, timeout_s: float = 10.0) -> None:
        """Fail in seconds, naming the fix, when the hub cannot be reached: otherwise every item
        would spend its own ~30 s in huggingface_hub's retries before failing."""
        from huggingface_hub import constants

        fix = ("copy from a local folder instead with --from DIR (an earlier prefetch, a USB stick, "
               "a data folder), or fix the network or proxy settings and try again")
        if constants.HF_HUB_OFFLINE:
            raise CourseError("prefetch cannot reach the Hugging Face hub: HF_HUB_OFFLINE is set.", fix=fix)
        try:
            urllib.request.urlopen(urllib.request.Request(constants.ENDPOINT, method="HEAD"), timeout=timeout_s)
        except urllib.error.HTTPError:
            return  # it answered: reachable, whatever the status
        except (OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            raise CourseError(f"prefetch cannot reach the Hugging Face hub at {constants.ENDPOINT} ({reason}).",
                              fix=fix) from None

    def fetch_model(self, entry: ModelEntry, dest: Path) -> None:
        from transformers import AutoModelForPreTraining, AutoTokenizer

        # Cased checkpoints whose hub repo has no tokenizer_config (BioBERT) would otherwise get
        # BERT's default lower-casing; saving with do_lower_case=False fixes the local copy.
        tokenizer = AutoTokenizer.from_pretrained(entry.hub_id, **({"do_lower_case": False} if entry.cased else {}))
        # Keep the pretraining heads: the MLM lessons need them, AutoModel / ForSequenceClassification
        # load the encoder from the same files.
        model = AutoModelForPreTraining.from_pretrained(entry.hub_id)
        model.save_pretrained(dest)
        tokenizer.save_pretrained(dest)

    def fetch_dataset(self, entry: DatasetEntry, dest: Path) -> None:
        if entry.hub_id is None:
            raise NotInSource(f"{missing_copy_instructions(entry.key)} (or use --from DIR)")
        import datasets

        write_dataset(entry, entry.from_hub(datasets.load_dataset(entry.hub_id, entry.hub_config)), dest)


def _inside(path: Path, source_root: Path) -> Path:
    """The real file behind `path`, which must lie in `source_root` (already resolved): a link
    out of the source could copy any file the user can read (/etc/shadow, as root)."""
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(source_root):
        raise CourseError(f"{path} is (or lies behind) a symbolic link out of {source_root}; prefetch never "
                          "follows those.", fix="replace the link with the file itself")
    return real


def _copy_files(root: Path, names: Sequence[str], dest: Path, label: str, source_root: Path) -> None:
    """Copy `names` (relative to `root`, inside `source_root`) into `dest` with one progress bar."""
    reals = [_inside(root / name, source_root) for name in names]
    total = sum(real.stat().st_size for real in reals)
    with tqdm(total=total, unit="B", unit_scale=True, desc=label, leave=False) as bar:
        for name, real in zip(names, reals, strict=True):
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(os.open(real, os.O_RDONLY | os.O_NOFOLLOW), "rb") as source, target.open("wb") as sink:
                for block in iter(lambda: source.read(_BLOCK), b""):
                    sink.write(block)
                    bar.update(len(block))


def _check_against(manifest_dir: Path, dest: Path, names: Sequence[str]) -> None:
    """If the source folder is a prefetch copy (it has a manifest), every copied file must be
    listed in it and match. Without a manifest the copy is checked by loading it instead."""
    recorded, problem = read_manifest(manifest_dir)
    if problem == "no manifest":
        return
    fix = "copy that folder again from a good copy (or delete its manifest to have the files checked by loading)"
    if recorded is None:
        raise IntegrityError(f"{manifest_dir} has a {problem}: its files cannot be checked against it.", fix=fix)
    for name in names:
        if name not in recorded:
            raise IntegrityError(f"{name} in {manifest_dir} is not in the folder's manifest.", fix=fix)
        if (dest / name).stat().st_size != recorded[name]["bytes"] or formats.sha256_of(dest / name) != recorded[name]["sha256"]:
            raise IntegrityError(f"{name} in {manifest_dir} does not match the sha256 its manifest records.",
                                 fix="copy that folder again from a good copy")


class FolderSource:
    """A local folder laid out like a prefetch (`models/<key>/`, `data/<folder>/`) or a bare data
    folder such as `../shared/data` (`<folder>/` directly). Copies only the files the course reads
    (plus PROVENANCE.md, so license terms travel with the data)."""

    def __init__(self, root: Path) -> None:
        root = Path(root).expanduser().resolve()
        if not root.is_dir():
            raise CourseError(f"--from {root}: no such folder.", fix="give a folder holding models/ and/or data/")
        self.root = root
        self.model_root = root / "models" if (root / "models").is_dir() else root
        self.data_root = root / "data" if (root / "data").is_dir() else root
        self.description = f"the local folder {root}"

    def fetch_model(self, entry: ModelEntry, dest: Path) -> None:
        folder = self.model_root / entry.key
        if not (folder / "config.json").is_file():
            raise NotInSource(f"no {entry.key}/ with a config.json in {self.model_root}")
        names = sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                       if path.is_file() and path.name != MANIFEST)
        _copy_files(folder, names, dest, entry.key, self.root)
        _check_against(folder, dest, names)

    def fetch_dataset(self, entry: DatasetEntry, dest: Path) -> None:
        folder = local_dataset_folder(entry.key, self.data_root)
        if not folder.is_dir():
            raise NotInSource(f"no {entry.local_folder}/ in {self.data_root}")
        names = ["labels.txt"] if formats.FORMATS[entry.kind].label_column else []
        for split, candidates in entry.local_files.items():
            present = formats.first_present(folder, candidates)
            if present is not None:
                names.append(present.relative_to(folder).as_posix())
            elif split == "train":
                names.append(candidates[0])
        names += [name for name in ("PROVENANCE.md",) if (folder / name).is_file()]
        missing = [name for name in names if not (folder / name).is_file()]
        if missing:
            raise CourseError(f"{folder} has no {missing[0]}.", fix="see the local data layout in README.md")
        _copy_files(folder, names, dest, entry.key, self.root)
        _check_against(folder, dest, names)


# ---------------------------------------------------------------------------------------------
# Checking, manifests, atomic placement


def _validate_model(folder: Path) -> None:
    """The files a model needs are there and load: a truncated or changed file fails here."""
    names = {path.name for path in folder.iterdir()}
    problems = []
    if "config.json" not in names:
        problems.append("config.json")
    if not any(name.endswith(".safetensors") or name == "pytorch_model.bin" for name in names):
        problems.append("weights (*.safetensors)")
    if not names & {"tokenizer.json", "vocab.txt"}:
        problems.append("tokenizer (tokenizer.json or vocab.txt)")
    if problems:
        raise CourseError(f"the fetched model lacks {', '.join(problems)}.", fix="run prefetch again")
    for name in sorted(names):
        try:
            _load_check(folder / name)
        except Exception as err:  # safetensors, tokenizers and json each raise their own types
            raise CourseError(f"the fetched model's {name} does not load ({str(err).splitlines()[0][:120]}).",
                              fix="fetch it again from a good copy") from None


def _load_check(path: Path) -> None:
    """Load one model file far enough to know it is complete (without building the model)."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    if path.name == "config.json":
        if not isinstance(json.loads(path.read_text(encoding="utf-8")), dict):
            raise ValueError("not a JSON object")
    elif path.suffix == ".safetensors":
        with safe_open(str(path), framework="np"):  # checks the header covers the file exactly
            pass
    elif path.name == "pytorch_model.bin":
        if (broken := zipfile.ZipFile(path).testzip()) is not None:  # torch's zip format: CRC per tensor
            raise ValueError(f"bad CRC in {broken}")
    elif path.name == "tokenizer.json":
        Tokenizer.from_file(str(path))
    elif path.name == "vocab.txt":
        if not path.read_text(encoding="utf-8").strip():
            raise ValueError("empty vocabulary")


def _validate_dataset(entry: DatasetEntry, folder: Path) -> None:
    """Read every split with the course's own readers: a broken copy fails here, not in class."""
    kind = formats.FORMATS[entry.kind]
    labels = formats.read_labels(folder / "labels.txt") if kind.label_column else []
    for split, candidates in entry.local_files.items():
        path = formats.first_present(folder, candidates)
        if path is not None:
            kind.read(path, labels)
        elif split == "train":
            raise CourseError(f"the fetched copy has no train split ({candidates[0]}).")


def _files_of(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                  if path.is_file() and path.name != MANIFEST)


def _write_manifest(folder: Path, item: str, source: str) -> int:
    files = {name: {"bytes": (folder / name).stat().st_size, "sha256": formats.sha256_of(folder / name)}
             for name in _files_of(folder)}
    manifest = {"format": 1, "item": item, "source": source,
                "fetched": datetime.now(UTC).isoformat(timespec="seconds"), "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return sum(row["bytes"] for row in files.values())


def read_manifest(folder: Path) -> tuple[dict[str, dict[str, Any]] | None, str | None]:
    """({file: {"bytes", "sha256"}}, None), or (None, why it cannot be used). A manifest is
    untrusted input too: its structure is checked before anything in it is believed."""
    try:
        document = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "no manifest"
    except (OSError, ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deeply
        return None, "unreadable manifest"
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, dict) or not all(
            isinstance(name, str) and not Path(name).is_absolute() and ".." not in Path(name).parts
            and isinstance(row, dict) and type(row.get("bytes")) is int and row["bytes"] >= 0
            and isinstance(row.get("sha256"), str) and len(row["sha256"]) == 64 for name, row in files.items()):
        return None, "malformed manifest"
    if not files:
        return None, "manifest lists no files"
    return files, None


def verify(folder: Path) -> tuple[str | None, int]:
    """(first problem, or None when the manifest lists exactly the files there and each
    matches; bytes recorded). Only reads."""
    files, problem = read_manifest(folder)
    if files is None:
        return problem, 0
    size = sum(row["bytes"] for row in files.values())
    for name, row in files.items():
        path = folder / name
        if not path.is_file():
            return f"missing {name}", size
        if path.stat().st_size != row["bytes"] or formats.sha256_of(path) != row["sha256"]:
            return f"sha256 mismatch: {name}", size
    unlisted = sorted(set(_files_of(folder)) - set(files))
    if unlisted:
        return f"not in the manifest: {', '.join(unlisted[:3])}", size
    return None, size


def _leftovers(target: Path, remove: bool) -> list[str]:
    """What an interrupted earlier run left beside `target` (never `target` itself), removed if asked."""
    found = []
    if target.parent.is_dir():
        for path in sorted(target.parent.iterdir()):
            if path.name.startswith((f".{target.name}{PARTIAL}", f".{target.name}{OLD}")):
                if remove:
                    shutil.rmtree(path, ignore_errors=True)
                found.append(path.name)
    return found


def _place(staging: Path, target: Path) -> None:
    """Rename the completed staging folder onto `target`, replacing an old copy."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}{OLD}{uuid.uuid4().hex[:8]}")
        target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        if old is not None and not target.exists():
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fetch_atomically(target: Path, fill: Callable[[Path], None], validate: Callable[[Path], None],
                      item: str, source: str) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{PARTIAL}", dir=target.parent))
    try:
        fill(staging)
        validate(staging)
        size = _write_manifest(staging, item, source)
        staging.chmod(0o777 & ~_umask())  # mkdtemp made it private; readable like any other folder
        _place(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return size


# ---------------------------------------------------------------------------------------------
# The command


@dataclass(frozen=True)
class Item:
    kind: str  # "model" | "dataset"
    key: str
    target: Path
    entry: ModelEntry | DatasetEntry

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key}"


@dataclass(frozen=True)
class ItemResult:
    item: Item
    status: str  # fetched | present | re-fetched | unavailable | failed | missing | corrupt
    bytes: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("fetched", "present", "re-fetched", "unavailable")


def plan(out: Path, only: Sequence[str] | None = None) -> list[Item]:
    """The items to fetch into `out`: every hub model but the offline MiniLM, then every dataset."""
    items = [Item("model", key, out / "models" / key, entry) for key, entry in MODELS.items() if key != MINILM]
    items += [Item("dataset", key, local_dataset_folder(key, out / "data"), entry) for key, entry in DATASETS.items()]
    if only:
        unknown = [key for key in only if key not in {item.key for item in items}]
        if unknown:
            raise CourseError(f"prefetch --only: unknown key(s) {', '.join(unknown)}.",
                              fix=f"use keys from: {', '.join(item.key for item in items)}")
        items = [item for item in items if item.key in only]
    return items


def human_size(count: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"


def _one(item: Item, source: Source | None, check: bool) -> ItemResult:
    leftovers = _leftovers(item.target, remove=not check)
    note = f"{'leftover' if check else 'removed leftover'} {', '.join(leftovers)}; " if leftovers else ""
    problem, size = verify(item.target) if item.target.is_dir() else ("absent", 0)
    if problem is None:
        return ItemResult(item, "present", size, note + "sha256 verified")
    if check or source is None:
        return ItemResult(item, "missing" if problem == "absent" else "corrupt", size, note + problem)
    if isinstance(item.entry, ModelEntry):
        fill: Callable[[Path], None] = lambda dest: source.fetch_model(item.entry, dest)  # noqa: E731
        validate: Callable[[Path], None] = _validate_model
    else:
        fill = lambda dest: source.fetch_dataset(item.entry, dest)  # noqa: E731
        validate = lambda dest: _validate_dataset(item.entry, dest)  # noqa: E731
    try:
        size = _fetch_atomically(item.target, fill, validate, item.label, source.description)
    except NotInSource as err:
        return ItemResult(item, "unavailable", 0, note + str(err))
    except Exception as err:  # the hub raises many types; report and go on with the next item
        message = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        return ItemResult(item, "failed", 0, note + f"{type(err).__name__}: {message}")
    if problem == "absent":
        return ItemResult(item, "fetched", size, note.rstrip("; "))
    return ItemResult(item, "re-fetched", size, note + f"was: {problem}")


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """One prefetch at a time per folder: a second one would take the first's work for leftovers."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / ".prefetch.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CourseError(f"Another prefetch is writing to {out}.",
                              fix="wait for it to finish, or use another --out") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def export_line(out: Path) -> str:
    return (f"export BERTCOURSE_MODEL_DIR={shlex.quote(str(out / 'models'))} "
            f"BERTCOURSE_DATA_DIR={shlex.quote(str(out / 'data'))}")


def prefetch(out: Path, source: Source | None, only: Sequence[str] | None = None,
             check: bool = False) -> list[ItemResult]:
    """Fetch (or with `check`, only verify) every planned item into `out`; print the table and
    the export line. Interrupting (Ctrl-C) leaves no partial item in place."""
    out = Path(out).expanduser().resolve()
    items = plan(out, only)
    verb = "Checking" if check else f"Prefetching from {source.description if source else '-'}"
    print(f"{verb} into {out}: {len(items)} item(s)")
    results = []
    with nullcontext() if check else _exclusive(out), \
            tqdm(items, unit="item", desc="prefetch", file=sys.stderr) as bar:
        for item in bar:
            bar.set_postfix_str(item.label)
            result = _one(item, source, check)
            tqdm.write(f"  {item.label:30s} {result.status:11s} {human_size(result.bytes):>9s}  {result.detail}")
            results.append(result)
    total = sum(result.bytes for result in results if result.status in ("fetched", "present", "re-fetched"))
    bad = [result for result in results if not result.ok or (check and result.status != "present")]
    unavailable = [result for result in results if result.status == "unavailable"]
    print(f"{len(results) - len(bad) - len(unavailable)} of {len(results)} item(s) in place and verified "
          f"({human_size(total)}); {len(unavailable)} unavailable from this source; {len(bad)} failed or bad.")
    print("# point the course at these copies (they are read in the gpu profile):")
    print(export_line(out))
    return results


def default_out() -> Path:
    from bertcourse.course.paths import course_home

    return course_home() / "local-copies"


def _prefetch_command(args: argparse.Namespace) -> int:
    if not PROFILES[args.profile].uses_hub:
        print(f"The {args.profile} profile is offline: it needs no downloads (MiniLM ships in a package, "
              "its data in data/).")
        return 0
    source: Source | None = None
    if not args.check:
        source = FolderSource(Path(args.source)) if args.source else HubSource()
        if isinstance(source, HubSource):
            source.check_reachable()
    out = Path(args.out) if args.out else default_out()
    try:
        results = prefetch(out, source, args.only, check=args.check)
    except KeyboardInterrupt:
        print("\nInterrupted: nothing half-written was left in place; run the same command again to resume.",
              file=sys.stderr)
        return 130
    if args.check:
        return 0 if all(result.status == "present" for result in results) else 1
    return 0 if all(result.ok for result in results) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    command = subparsers.add_parser(
        "prefetch", help="download every hub model and dataset the course names into a local folder",
        description="Save local copies of the course's hub checkpoints and datasets (sha256-verified, "
                    "written atomically) and print the line that points the course at them. Re-running "
                    "skips what is present and intact and fetches again what is missing or corrupt.")
    command.add_argument("--profile", choices=list(PROFILES), default="gpu",
                         help="profile to prefetch for (default: gpu; laptop needs nothing)")
    command.add_argument("--out", default=None, help="folder to fill (default: <course home>/local-copies)")
    command.add_argument("--from", dest="source", default=None, metavar="DIR",
                         help="copy from a local folder instead of the hub: an earlier prefetch (models/, data/) "
                              "or a data folder such as ../shared/data")
    command.add_argument("--only", nargs="+", default=None, metavar="KEY",
                         help="registry keys to fetch, e.g. bert-base-uncased emotion (default: all)")
    command.add_argument("--check", action="store_true",
                         help="fetch nothing: verify what is there against its manifest (exit 1 if anything is "
                              "missing or corrupt)")
    command.set_defaults(func=_prefetch_command)
