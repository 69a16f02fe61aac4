"""``provlab rules``: the rule catalogue of docs/rules.md and, for each rule, the tests and
scenarios that prove it; ``--check`` for CI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from provlab import rules as rule_scan
from provlab import rules_catalogue
from provlab.commands.options import json_option


@click.command("rules")
@click.argument("rule_ids", nargs=-1, metavar="[ID]...")
@click.option(
    "--check",
    is_flag=True,
    help="Exit non-zero unless every listed rule (e.g. --check R22 R13) is proven; with no ID, "
    "every rule in scope.",
)
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="The project's root (where tests/ and scenarios/ are).",
)
@json_option
def rules(rule_ids: tuple[str, ...], check: bool, root: Path, as_json: bool) -> None:
    """List the rule catalogue (docs/rules.md, R1..R36) and the tests and scenarios that prove
    each rule. With IDs, show just those rules in full, with the functions whose docstrings name
    them."""
    try:
        catalogue = rules_catalogue.catalogue()
    except rules_catalogue.RulesPageError as exc:
        raise click.ClickException(str(exc)) from None
    wanted = list(dict.fromkeys(i.upper() for i in rule_ids))
    bad = [i for i in wanted if rules_catalogue.rule_by_id(i) is None]
    if bad:
        raise click.BadParameter(f"unknown rule ID(s): {', '.join(bad)}", param_hint="ID")
    try:
        proofs = rule_scan.proofs_by_rule(root)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    shown = [r for i in wanted for r in catalogue if r.id == i] if wanted else list(catalogue)
    if as_json:
        click.echo(json.dumps([rule_scan.as_json(r, proofs) for r in shown], indent=2))
    elif wanted:
        for rule in shown:
            click.echo(rule_scan.describe(rule, proofs, rule_scan.scan_docstrings(root, rule.id)))
    else:
        for rule in shown:
            found = proofs.get(rule.id, [])
            click.echo(f"{rule.id:<4} {rule_scan.status(rule, found):<10} {rule.summary[:90]}")
            for proof in found:
                click.echo(f"       {proof.kind:<8} {proof.where}")
        proven = sum(1 for r in catalogue if proofs.get(r.id))
        click.echo(f"\n{proven} of {len(catalogue)} rules proven")
    unknown = rule_scan.unknown_rule_ids(proofs)
    if unknown:
        raise click.ClickException(
            f"tests or scenarios name rules that do not exist: {', '.join(unknown)}"
        )
    if not check:
        return
    required = wanted or [r.id for r in catalogue if not r.later]
    unproven = [i for i in required if not proofs.get(i)]
    if unproven:
        click.echo(f"not proven: {', '.join(unproven)}", err=True)
        sys.exit(1)
