"""The README documents every command and every option a user can pass."""

from pathlib import Path

import click

from iszones.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_command_and_option_is_in_the_readme():
    missing = []
    for name, command in main.commands.items():
        if f"iszones {name}" not in README:
            missing.append(f"iszones {name}")
        for param in command.params:
            if isinstance(param, click.Option):
                flags = [f for f in param.opts if f.startswith("--")]
                if flags and not any(f in README for f in flags) and flags != ["--data-dir"]:
                    missing.append(f"iszones {name} {flags[0]}")
    assert missing == []


def test_every_command_has_help_with_an_example():
    for name, command in main.commands.items():
        assert command.help and "Example" in command.help, name
