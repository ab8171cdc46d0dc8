"""The install files agree with each other, and CI runs exactly the README's test command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from bertcourse.tools.doctor import locked_versions

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ;]", requirement.strip())[0].lower().replace("_", "-")


def test_environment_yml_pins_agree_with_the_lock_file() -> None:
    locked = locked_versions(ROOT / "requirements" / "lock.txt")
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    pins = dict(line.split("==") for line in pip_section if "==" in line)
    assert pins, "environment.yml pins nothing"
    for name, version in pins.items():
        assert locked.get(_name(name)) == version, f"{name}: environment.yml {version}, lock {locked.get(_name(name))}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(dep) for dep in project["dependencies"] + project["optional-dependencies"]["test"]}
    assert declared <= {_name(name) for name in pins}, "a pyproject dependency is missing from environment.yml"
    assert "python=3.11" in environment["dependencies"]


def test_every_declared_dependency_is_locked_and_torch_is_the_cpu_pin() -> None:
    locked = locked_versions(ROOT / "requirements" / "lock.txt")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert _name(dep) in locked, f"{dep} is not in requirements/lock.txt"
    assert locked["torch"] == "2.13.0"


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, flags=re.S)
    test_command = next(block.strip() for block in commands if "test" in block and "make" in block)
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines
