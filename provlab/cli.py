"""The ``provlab`` command: run both apps, move their clocks, list what the rules are proven by.

This module only assembles the command groups, one module each under ``provlab/commands/``; what
several of them share (``--var``, ``--json``, reading a time or a duration) is in
``provlab/commands/options.py``, and the running pair with its apps at the pair's time in
``provlab/commands/pair.py``.

Each group is imported when it is run, not when ``provlab`` starts: ``provlab clock show`` then
loads the clock's modules only, not the apps, the doctor and the benchmarks (seconds of imports
that every short command, and every end-to-end test calling one, would pay).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import click

# name → "module:attribute" of its command. The doctor's group comes from doctor_cases, which
# adds seat, activation and menu to it.
COMMANDS = {
    "up": "provlab.commands.up:up",
    "clock": "provlab.commands.clock:clock",
    "rules": "provlab.commands.rules:rules",
    "scenario": "provlab.commands.scenario:scenario",
    "doctor": "provlab.commands.doctor_cases:doctor",
    "fault": "provlab.commands.fault:fault",
    "bench": "provlab.commands.bench:bench",
    "portal": "provlab.commands.portal:portal_group",
    "instance": "provlab.commands.instance:instance_group",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when looked up (click's documented pattern)."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def load_all(self) -> Mapping[str, click.Command]:
        """Every subcommand, imported (for tests and documentation that walk the tree)."""
        with click.Context(self) as ctx:
            for name in self.list_commands(ctx):
                self.get_command(ctx, name)
        return self.commands


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Provision Lab: a Customers Portal and a self-managed GitLab instance, on real or
    simulated time, for reproducing and testing subscription, trial and GitLab Duo provisioning."""
