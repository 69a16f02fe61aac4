"""The ``provlab`` command: run both apps, move their clocks, list what the rules are proven by.

This module only assembles the command groups, one module each under ``provlab/commands/``; what
several of them share (``--var``, ``--json``, reading a time or a duration) is in
``provlab/commands/options.py``, and the running pair with its apps at the pair's time in
``provlab/commands/pair.py``.
"""

from __future__ import annotations

import click

from provlab.commands import doctor_cases  # noqa: F401 - adds seat, activation, menu to doctor
from provlab.commands.bench import bench
from provlab.commands.clock import clock
from provlab.commands.doctor import doctor
from provlab.commands.fault import fault
from provlab.commands.instance import instance_group
from provlab.commands.portal import portal_group
from provlab.commands.rules import rules
from provlab.commands.scenario import scenario
from provlab.commands.up import up


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Provision Lab: a Customers Portal and a self-managed GitLab instance, on real or
    simulated time, for reproducing and testing subscription, trial and GitLab Duo provisioning."""


for command in (up, clock, rules, scenario, doctor, fault, bench, portal_group, instance_group):
    main.add_command(command)
