"""The `bertcourse` command line reads right: help without arguments, a description for
every command a learner uses, help for every option, author commands marked as such."""

from __future__ import annotations

import argparse

import pytest

from bertcourse.tools import cli


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_no_arguments_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("usage: bertcourse") and captured.err == ""
    assert "doctor" in captured.out and "Course authors: notebooks and dev" in captured.out


@pytest.mark.parametrize("path", [("doctor",), ("progress",), ("progress", "export"), ("progress", "report"),
                                  ("handoffs",), ("handoffs", "export"), ("handoffs", "import"),
                                  ("notebooks",)])
def test_commands_describe_themselves(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    parser = cli.build_parser()
    for name in path:
        parser = subcommands(parser)[name]
    assert parser.description and len(parser.description) > 60
    with pytest.raises(SystemExit):
        cli.main([*path, "--help"])
    assert parser.description.split()[0] in capsys.readouterr().out


def test_progress_export_help_says_where_the_file_goes() -> None:
    export = subcommands(subcommands(cli.build_parser())["progress"])["export"]
    assert "current folder" in export.description


def test_every_option_of_every_command_has_help_text() -> None:
    def walk(parser: argparse.ArgumentParser, path: str):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    yield from walk(child, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction):
                yield path, action

    missing = [f"{path} {action.dest}" for path, action in walk(cli.build_parser(), "bertcourse") if not action.help]
    assert missing == []


def test_author_commands_are_marked() -> None:
    commands = cli.build_parser()._subparsers._group_actions[0]
    helps = {choice.dest: choice.help for choice in commands._choices_actions}
    assert helps["notebooks"].startswith("(author)") and helps["dev"].startswith("(author)")
    assert not helps["doctor"].startswith("(author)")
