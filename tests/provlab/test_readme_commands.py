"""The README's table of `provlab` commands tells the truth: every command and subcommand is listed,
and every command word and option the table shows exists."""

from __future__ import annotations

import re
from pathlib import Path

import click

from provlab.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")
WORD = re.compile(r"[a-z][a-z0-9-]*")


def readme_rows(text: str) -> list[tuple[list[str], set[str], set[str]]]:
    """Each row of the command table: its command words (outside [optional] parts), the options
    it shows, and the `names` its description quotes."""
    rows = []
    for line in text.splitlines():
        match = re.match(r"\| `(provlab [^`]*)` \|(.*)\|\s*$", line)
        if not match:
            continue
        usage = match.group(1).replace("\\|", "|")
        required = usage
        while re.search(r"\[[^\[\]]*\]", required):
            required = re.sub(r"\[[^\[\]]*\]", " ", required)
        words = [
            token
            for token in re.split(r"[\s|]+", required)[1:]
            if WORD.fullmatch(token)  # UPPERCASE placeholders and --options are not words
        ]
        quoted = set(re.findall(r"`([a-z][a-z0-9-]*)`", match.group(2)))
        rows.append((words, set(OPTION.findall(usage)), quoted))
    return rows


def options_of(command: click.Command) -> set[str]:
    return {name for param in command.params for name in param.opts + param.secondary_opts}


def test_the_reader_finds_words_options_and_quoted_names() -> None:
    row = (
        "| `provlab instance [--instance-path DIR] duo-bulk-assign FILE.csv \\| diagnostics "
        "[-o FILE]` | see `show` |"
    )
    assert readme_rows(row) == [
        (["instance", "duo-bulk-assign", "diagnostics"], {"--instance-path", "-o"}, {"show"})
    ]


def test_the_readme_lists_every_command_and_names_only_real_ones() -> None:
    rows = readme_rows(README.read_text(encoding="utf-8"))
    assert rows
    listed: dict[str, set[str]] = {}
    commands = main.load_all()
    for words, options, quoted in rows:
        top, *subcommands = words
        assert top in commands, f"the README lists `provlab {top}`, which does not exist"
        command = commands[top]
        named = [command]
        if isinstance(command, click.Group):
            unknown = [word for word in subcommands if word not in command.commands]
            assert unknown == [], f"`provlab {top}` has no {unknown}"
            named += [command.commands[word] for word in subcommands] or list(
                command.commands.values()
            )
            listed.setdefault(top, set()).update(subcommands, quoted & set(command.commands))
        else:
            assert subcommands == [], f"`provlab {top}` takes no subcommand {subcommands}"
            listed.setdefault(top, set())
        known = set().union(*(options_of(each) for each in named))
        assert options <= known, f"`provlab {' '.join(words)}`: no {sorted(options - known)}"
    assert sorted(listed) == sorted(commands)
    for name, command in commands.items():
        if isinstance(command, click.Group):
            assert sorted(listed[name]) == sorted(command.commands), f"provlab {name}"
