"""The Customers Portal: sells subscriptions, GitLab Duo seats and trials; issues licenses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from portal.settings import PREFIX, SETTINGS

APP_TITLE = "Customers Portal"
MIGRATIONS = "portal:migrations"


def create_app(
    config: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> Flask:
    """Wire the portal app; see ``portal.setup.prepare`` for first-start work."""
    from portal import customer, sales, support, sync_api, trials, upgrade_pages, views
    from portal.gitlab_com import account_pages as gitlab_com_account
    from portal.gitlab_com import consumable_pages as gitlab_com_consumables
    from portal.gitlab_com import pages as gitlab_com_pages
    from portal.gitlab_com import provisioning as gitlab_com_provisioning
    from portal.gitlab_com import trial_api as gitlab_com_trials
    from portal.jobs import registry
    from portal.models import Account, Job, SignInLockout, db
    from webcore.app import build_app, init_data_layer
    from webcore.auth import csrf, init_auth, make_auth_blueprint

    app = build_app(__name__, "portal", PREFIX, SETTINGS, config, environ)
    init_data_layer(app, db, Job, registry)
    init_auth(app, lambda user_id: db.session.get(Account, int(user_id)), SignInLockout)
    app.register_blueprint(make_auth_blueprint(views.find_account, views.home_endpoint))
    app.register_blueprint(views.blueprint)
    features = (
        customer,
        upgrade_pages,
        trials,
        support,
        sales,
        sync_api,
        gitlab_com_trials,
        gitlab_com_pages,
    )
    app.register_blueprint(gitlab_com_consumables.blueprint)  # compute minutes, storage (R6)
    for feature in features:
        app.register_blueprint(feature.blueprint)
    app.register_blueprint(gitlab_com_pages.subscriptions)  # buy for a group, change its group
    gitlab_com_pages.init_app(app)
    app.register_blueprint(gitlab_com_account.blueprint)  # link a GitLab.com account (OAuth)
    csrf.exempt(sync_api.blueprint)  # signed protocol requests, not browser forms
    csrf.exempt(gitlab_com_trials.blueprint)
    gitlab_com_provisioning.init_app(app)  # linked subscriptions are pushed to GitLab.com

    @app.context_processor
    def _layout() -> dict[str, str]:
        return {"app_title": APP_TITLE, "app_colour": "#292961"}

    return app
