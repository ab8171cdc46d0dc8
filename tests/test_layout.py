"""The package's rooms, checked rather than remembered (README "Layout").

The course room (`bertcourse.course`) stands on nothing else of the package; lesson modules may use
it and each other, never the commands or the quiz engine; the quiz engine uses the course room (and
lesson code to re-check computed answers); tools may use anything. A module that broke this could drag torch into
`bertcourse progress export`, or make a lesson depend on an instructor command. Inside the quiz room,
its files and folders import one way (no loop), and notebooks use only the facade and lesson modules.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

import bertcourse

PACKAGE = Path(__file__).resolve().parents[1] / "bertcourse"
NOTEBOOKS = sorted((PACKAGE.parent / "notebooks").glob("*.ipynb"))


def room(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("course", "tools", "quiz"):
        return parts[1]
    return "facade" if module == "bertcourse" else "lesson"


ALLOWED = {"course": {"course"}, "quiz": {"course", "quiz", "lesson"}, "lesson": {"course", "lesson"},
           "tools": {"course", "quiz", "lesson", "tools"}}


def imported_modules(path: Path) -> set[str]:
    """Every bertcourse module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("bertcourse")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("bertcourse"):
            found |= {f"{node.module}.{alias.name}" if node.module == "bertcourse" else node.module
                      for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level:  # relative: only used inside quiz/
            found.add("bertcourse.quiz")
    return found


MODULES = sorted(path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py" or path.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_each_module_imports_only_what_its_room_may(path: Path) -> None:
    dotted = ".".join(("bertcourse", *path.relative_to(PACKAGE).with_suffix("").parts))
    own = room(dotted.removesuffix(".__init__"))
    for imported in imported_modules(path):
        assert room(imported) in ALLOWED[own], f"{dotted} ({own}) imports {imported} ({room(imported)})"


def test_the_command_line_and_the_facade_load_no_torch() -> None:
    """`bertcourse progress export|report` and `import bertcourse` must not pay for importing torch
    (the report lists the coding exercises from their sealed files, never from their torch tests)."""
    probe = ("import sys, bertcourse; bertcourse.paths; bertcourse.registry; bertcourse.CourseError\n"
             "from bertcourse.tools import cli; cli.build_parser()\n"
             "from bertcourse.quiz import report; from bertcourse.quiz.exercises import catalog; catalog.entries()\n"
             "print(sorted({'torch', 'transformers'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_the_facade_needs_no_module_class_because_no_name_is_also_a_subpackage() -> None:
    """Importing a subpackage binds it as an attribute of `bertcourse`; a facade function of the same
    name (once `bc.quiz`) would be hidden by it unless the package module's class is patched."""
    clashes = [name for name in bertcourse._EXPORTS if (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").exists()]
    assert not clashes, f"facade names that are also modules of the package: {clashes}"
    importlib.import_module("bertcourse.quiz.report")  # binds the subpackage, as a command or a test may first

    assert type(bertcourse) is types.ModuleType
    assert all(callable(getattr(bertcourse, name)) for name in ("take_quiz", "check", "course_progress"))


def _quiz_room(module: str) -> str | None:
    """The room of a module inside `bertcourse.quiz`: a top-level file, or a whole subfolder."""
    parts = module.split(".")
    if parts[:2] != ["bertcourse", "quiz"] or len(parts) < 3 or parts[2] == "__init__":
        return None
    return parts[2] + ("/" if (PACKAGE / "quiz" / parts[2]).is_dir() else "")


def _resolved_imports(path: Path, dotted: str) -> set[str]:
    """Every bertcourse module `path` imports, relative imports resolved (`from ..store import X`)."""
    package = dotted.split(".") if path.name == "__init__.py" else dotted.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found |= {f"{module}.{alias.name}" for alias in node.names} | {module}
    return {name for name in found if name.startswith("bertcourse")}


def test_the_quiz_rooms_import_one_way() -> None:
    """The rooms of `bertcourse/quiz/` (each file, and `exercises/` as one) form no loop: once,
    `widget.py` counted exercises from `exercises/` while `exercises/view.py` used `widget.py`."""
    arrows: dict[str, set[str]] = {}
    for path in (PACKAGE / "quiz").rglob("*.py"):
        dotted = ".".join(("bertcourse", *path.relative_to(PACKAGE).with_suffix("").parts))
        if (source := _quiz_room(dotted)) is None:
            continue
        targets = {_quiz_room(name) for name in _resolved_imports(path, dotted.removesuffix(".__init__"))}
        arrows.setdefault(source, set()).update(room for room in targets if room and room != source)
    done: set[str] = set()

    def visit(room: str, trail: tuple[str, ...]) -> None:
        assert room not in trail, "the quiz rooms import each other in a loop: " + " -> ".join((*trail, room))
        if room not in done:
            for target in sorted(arrows.get(room, ())):
                visit(target, (*trail, room))
            done.add(room)

    for room in sorted(arrows):
        visit(room, ())


def _notebook_imports(path: Path) -> list[tuple[int, str]]:
    """(code cell index, module) for every bertcourse module a notebook's code cells import."""
    found = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                found += [(index, alias.name) for alias in node.names if alias.name.startswith("bertcourse")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bertcourse"):
                found += [(index, f"bertcourse.{alias.name}" if node.module == "bertcourse" else node.module)
                          for alias in node.names]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebooks_import_only_the_facade_and_lesson_modules(path: Path) -> None:
    """README "Layout": a notebook writes `import bertcourse as bc` and uses `bc.*` plus the lesson
    modules (`bertcourse/*.py`), never the course, quiz or tools rooms directly."""
    for index, module in _notebook_imports(path):
        lesson = module.split(".")[1] if module != "bertcourse" else ""
        assert module == "bertcourse" or (PACKAGE / f"{lesson}.py").exists(), (
            f"{path.name} code cell {index} imports {module}: use `bc.*` or a lesson module")


def test_readme_layout_names_every_module() -> None:
    """The README's Layout table is where a newcomer finds a module; one added without a line
    there (question_answering, embeddings, search and the bars module once were) stays hidden."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):]
    folders = [PACKAGE, PACKAGE / "course", PACKAGE / "tools", PACKAGE / "quiz"]
    missing = [str(path.relative_to(PACKAGE)) for folder in folders for path in sorted(folder.glob("*.py"))
               if path.name != "__init__.py" and f"`{path.stem}`" not in layout]
    assert not missing, f"README's Layout section does not name: {missing}"
