"""Who may hold a GitLab Duo seat (R2: billable users, R30) is one rule: the SQL filter every
list starts from (``eligible_users_query``) and the per-user check assignments use
(``is_billable``) agree on every kind of user under every plan, and the Duo page and GraphQL
share the one search."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa
from flask import Flask

from instance import add_ons
from instance.models import AccessLevel, User, UserState, db
from instance.users import BOT_TYPES, billable_condition, is_billable
from protocol.license import Plan
from tests.instance.conftest import new_user


@pytest.mark.parametrize("plan", [None, *Plan])
def test_r2_r30_is_billable_agrees_with_the_sql_filter_for_every_kind_of_user(
    app: Flask, plan: Plan | None
) -> None:
    with app.app_context():
        kinds = itertools.product(UserState, (None, *BOT_TYPES), AccessLevel.NAMES)
        for number, (state, bot_type, level) in enumerate(kinds):
            new_user(
                app,
                username=f"u{number}",
                email=f"u{number}@example.com",
                name=f"U {number}",
                state=state,
                bot_type=bot_type,
                highest_access_level=level,
            )
        selected = set(
            db.session.execute(sa.select(User.id).where(billable_condition(plan))).scalars()
        )
        users = list(db.session.execute(sa.select(User)).scalars())
        assert selected == {user.id for user in users if is_billable(user, plan)}
        assert 0 < len(selected) < len(users)


def test_r2_eligible_users_search_by_name_or_username(app: Flask) -> None:
    with app.app_context():
        for username, name, state in (
            ("ada", "Ada Lovelace", UserState.ACTIVE),
            ("grace", "Grace Hopper", UserState.ACTIVE),
            ("alan", "Alan Turing", UserState.BLOCKED),
        ):
            new_user(
                app, username=username, email=f"{username}@example.com", name=name, state=state
            )

        def found(search: str) -> list[str]:
            query = add_ons.eligible_users_query(search)
            return [user.username for user in db.session.execute(query).scalars()]

        assert found("") == ["ada", "grace"]
        assert found("HOPP") == ["grace"]
        assert found("ad") == ["ada"]
        assert found("alan") == []  # blocked: not billable, never eligible (R30)
