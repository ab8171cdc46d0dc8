"""The package's rooms, checked rather than remembered (README "Layout").

Runtime (`bertcourse.course`) stands on nothing else of the package; lesson modules may use the
runtime and each other, never the commands or the quiz engine; the quiz engine uses the runtime (and
lesson code to re-check computed answers); tools may use anything. A module that broke this could drag torch into
`bertcourse progress export`, or make a lesson depend on an instructor command.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bertcourse"


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
