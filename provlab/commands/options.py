"""What several command groups share: the ``--var`` folder, ``--json``, an option taking one of a
few words, and how a time or a duration typed on the command line is read (a bad one is a usage
error naming the format)."""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from protocol.clock import parse_utc
from provlab.durations import parse_duration

DEFAULT_VAR = Path("var")

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def var_option(help_text: str) -> Decorator:
    """The ``--var`` option: where `provlab up` keeps both apps' files and its state."""
    return click.option(
        "--var",
        "var",
        type=click.Path(path_type=Path),
        default=DEFAULT_VAR,
        show_default=True,
        help=help_text,
    )


def var_after_subcommand(command: Any) -> Any:
    """``--var`` after the subcommand too (``provlab clock advance 2d --var X``): the command gets
    it as ``own_var``, which wins over the group's ``--var``."""
    return click.option(
        "--var",
        "own_var",
        type=click.Path(path_type=Path),
        default=None,
        help="The var folder of the running `provlab up` (as `provlab clock --var`).",
    )(command)


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def values(choices: type[enum.StrEnum]) -> list[str]:
    """An enum's values, in its order: an option's choices, stated where the enum is."""
    return [member.value for member in choices]


def one_of(name: str, choices: list[str], default: str, **more: Any) -> Decorator:
    """An option taking one of ``choices``, ``default`` when not given (shown in ``--help``)."""
    return click.option(
        name, type=click.Choice(choices), default=default, show_default=True, **more
    )


def utc_time(text: str) -> dt.datetime:
    try:
        return parse_utc(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected a UTC time such as 2026-03-01T04:00:00Z"
        ) from None


def duration(text: str) -> dt.timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def quiet_logs() -> None:
    """Hide log records up to WARNING for the rest of this command (what matters is in its
    output); the previous setting comes back when the command ends, as several commands may run
    in one process (tests, a CliRunner)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    click.get_current_context().call_on_close(lambda: logging.disable(previous))
