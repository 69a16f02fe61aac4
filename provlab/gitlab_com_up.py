"""GitLab.com in ``provlab up``: the third server beside the portal and the self-managed instance.

Seeded before any server starts: GitLab.com's database, key and demo group (its public key
written where the portal pins it), then the portal's demo subscription for that group, linked to
it. Linking schedules the push (a portal job due at once); GitLab.com is started first, and the
push is run from here once it answers, before the portal's server starts (``push_now``). The
banner then says what the portal recorded of the push — provisioned, refused, or failing and to
be retried by the portal's jobs — not what was tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from instance.gitlab_com.demo import DemoGitLabCom

DEMO_SUBSCRIPTION_PLAN = "ultimate"
DEMO_SUBSCRIPTION_SEATS = 10
DEMO_COMPANY = "Acme"


@dataclass(frozen=True)
class GitLabComDemo:
    gitlab_com: DemoGitLabCom
    subscription_name: str


@dataclass(frozen=True)
class PushState:
    """What the portal recorded of the demo group's push."""

    provisioned: bool
    seats_in_use: int | None = None
    error: str | None = None  # GitLab.com's refusal, or the failing job's last error


def seed(gitlab_com_env: dict[str, str], portal_env: dict[str, str], var: Path) -> GitLabComDemo:
    """Prepare GitLab.com and seed its demo group, publish its key for the portal, and give the
    demo customer a subscription linked to the group (idempotent: a second start reuses both)."""
    from instance import create_app as create_instance
    from instance.gitlab_com.demo import seed_demo
    from instance.identity import load_instance_key
    from instance.setup import prepare as prepare_instance
    from protocol.signing import KeySet
    from webcore.keys import write_public_keys

    app = create_instance(environ=gitlab_com_env)
    prepare_instance(app, environ={})
    demo = seed_demo(app)
    _register_portal_application(app, portal_env)
    write_public_keys(
        var / "gitlab_com" / "public_keys.json", KeySet((load_instance_key(app).verifying_key(),))
    )
    with app.app_context():
        app.extensions["sqlalchemy"].engine.dispose()
    name = _link_demo_subscription(portal_env, demo)
    return GitLabComDemo(demo, name)


def _register_portal_application(gitlab_com: Flask, portal_env: dict[str, str]) -> None:
    """The portal's OAuth application on GitLab.com, with the client id and secret the portal
    is started with (``servers.gitlab_com_environment``) and its callback: customers link their
    GitLab.com account with it. Registered again at each start (a new secret)."""
    from instance.gitlab_com.oauth import register_application
    from portal.gitlab_com.oauth_client import CALLBACK_PATH
    from webcore.clock import app_clock
    from webcore.transaction import unit_of_work

    client_id = portal_env.get("PORTAL_GITLAB_COM_CLIENT_ID")
    secret = portal_env.get("PORTAL_GITLAB_COM_CLIENT_SECRET")
    if not client_id or not secret:
        return
    callback = portal_env.get("PORTAL_BASE_URL", "http://127.0.0.1:5010").rstrip("/")
    with unit_of_work(gitlab_com):
        register_application(
            "Customers Portal",
            callback + CALLBACK_PATH,
            ("api", "read_user"),
            app_clock(gitlab_com).now(),
            uid=client_id,
            secret=secret,
        )


def _link_demo_subscription(portal_env: dict[str, str], demo: DemoGitLabCom) -> str:
    from portal import create_app as create_portal
    from portal.gitlab_com.models import NamespaceLink
    from portal.gitlab_com.namespaces import link_namespace
    from portal.models import Account, Subscription
    from portal.setup import DEMO_CUSTOMER
    from portal.subscriptions import create_subscription
    from webcore.clock import app_clock
    from webcore.transaction import unit_of_work

    app = create_portal(environ=portal_env)
    with unit_of_work(app):
        db = app.extensions["sqlalchemy"]
        linked = db.session.execute(
            sa.select(Subscription.name)
            .join(NamespaceLink, NamespaceLink.subscription_id == Subscription.id)
            .where(NamespaceLink.namespace_id == demo.group_id)
        ).scalar_one_or_none()
        if linked is None:
            customer = db.session.execute(
                sa.select(Account).where(Account.email == DEMO_CUSTOMER.email)
            ).scalar_one()
            now = app_clock(app).now()
            subscription = create_subscription(
                customer,
                plan=DEMO_SUBSCRIPTION_PLAN,
                seats=DEMO_SUBSCRIPTION_SEATS,
                now=now,
                contact_company=DEMO_COMPANY,
            )
            link_namespace(subscription, demo.group_id, demo.group_path, now)
            linked = subscription.name
    with app.app_context():
        db.engine.dispose()
    return str(linked)


def push_now(portal_env: dict[str, str]) -> None:
    """Run the portal's jobs due now in this process, the demo group's push among them, once
    GitLab.com answers and before the portal's server starts: on simulated time no worker would
    run it, and the banner then says what the push did."""
    from portal import create_app as create_portal
    from webcore.clock import app_clock

    app = create_portal(environ=portal_env)
    with app.app_context():
        app.extensions["jobs"].run_due(app_clock(app).now())
        app.extensions["sqlalchemy"].engine.dispose()


def push_state(portal_env: dict[str, str], subscription_name: str) -> PushState:
    """The demo group's push as the portal recorded it."""
    from portal import create_app as create_portal
    from portal.gitlab_com.models import NamespaceLink
    from portal.gitlab_com.provisioning import pending_push
    from portal.models import Subscription

    app = create_portal(environ=portal_env)
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        link = db.session.execute(
            sa.select(NamespaceLink)
            .join(Subscription, Subscription.id == NamespaceLink.subscription_id)
            .where(Subscription.name == subscription_name)
        ).scalar_one()
        job = pending_push(link.subscription_id)
        if link.last_error:
            state = PushState(False, error=link.last_error)
        elif link.last_provisioned_at is not None:
            state = PushState(True, seats_in_use=link.seats_in_use)
        else:
            state = PushState(False, error=job.last_error if job is not None else None)
        db.engine.dispose()
    return state


def banner_lines(url: str, demo: GitLabComDemo, push: PushState) -> list[str]:
    gitlab_com = demo.gitlab_com
    if push.provisioned:
        state = f"provisioned, {push.seats_in_use} seat(s) in use"
    else:
        state = f"NOT provisioned: {push.error or 'the push has not run'} (see the portal log)"
    return [
        f"  {'GitLab.com':<18} {url}",
        f"    owner     {gitlab_com.owner} / {gitlab_com.owner_password}",
        f"    group {gitlab_com.group_path} (id {gitlab_com.group_id}) on subscription "
        f"{demo.subscription_name}  {DEMO_SUBSCRIPTION_PLAN}: {state}",
        f"    admin     {gitlab_com.admin.username} / {gitlab_com.admin.password}",
        f"    personal access token (api): {gitlab_com.admin.token}",
    ]
