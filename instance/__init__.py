"""The self-managed GitLab instance: activates, syncs daily, enforces who may use GitLab Duo."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from instance.settings import PREFIX, SETTINGS

APP_TITLE = "GitLab (self-managed)"
GITLAB_COM_TITLE = "GitLab.com"
MIGRATIONS = "instance:migrations"


def create_app(
    config: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> Flask:
    """Wire the instance app; see ``instance.setup.prepare`` for first-start work."""
    from flask_login import user_logged_in

    # The API's modules add their routes to api.blueprint when imported.
    from instance import (
        admin,
        api,
        api_license,  # noqa: F401
        api_tokens,  # noqa: F401
        api_users,  # noqa: F401
        graphql_api,
        user_settings,
        views,
    )
    from instance.gitlab_com import (
        api_groups,  # noqa: F401
        api_members,  # noqa: F401
        api_namespaces,  # noqa: F401
        authorized_applications,
        oauth_pages,
        overview,
        provision_api,
        quota_pages,
        trial_pages,
        ultimate_trial_pages,
    )
    from instance.gitlab_com import pages as group_pages
    from instance.jobs import registry
    from instance.models import Job, SignInLockout, User, db
    from webcore.app import build_app, init_data_layer
    from webcore.auth import csrf, init_auth, make_auth_blueprint

    app = build_app(__name__, "instance", PREFIX, SETTINGS, config, environ)
    init_data_layer(app, db, Job, registry)
    init_auth(app, lambda user_id: db.session.get(User, int(user_id)), SignInLockout)
    app.register_blueprint(make_auth_blueprint(views.find_user, views.home_endpoint))
    app.register_blueprint(views.blueprint)
    app.register_blueprint(user_settings.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(graphql_api.blueprint)
    # Token-authenticated APIs: no session cookie, so no CSRF token either.
    csrf.exempt(api.blueprint)
    csrf.exempt(graphql_api.blueprint)
    # GitLab.com (GITLAB_COM): the portal's signed pushes; answers 404 on self-managed.
    app.register_blueprint(provision_api.blueprint)
    app.register_blueprint(group_pages.blueprint)  # a group's GitLab Duo pages (GitLab.com)
    app.register_blueprint(quota_pages.blueprint)  # its Pipelines and Storage quotas (R6)
    app.register_blueprint(trial_pages.blueprint)  # Settings > Billing, the Duo Pro trial
    app.register_blueprint(ultimate_trial_pages.blueprint)  # the Ultimate trial (/-/trials/new)
    app.register_blueprint(overview.blueprint)  # Search or go to, a group's overview
    overview.init_app(app)
    app.register_blueprint(oauth_pages.blueprint)  # OAuth: the authorize page (GitLab.com)
    app.register_blueprint(oauth_pages.token_blueprint)  # and the token endpoint
    app.register_blueprint(authorized_applications.blueprint)  # and the user's revoking it
    csrf.exempt(provision_api.blueprint)
    csrf.exempt(oauth_pages.token_blueprint)  # a client's call, authenticated by its secret

    user_logged_in.connect(views.record_sign_in, app)

    @app.context_processor
    def _layout() -> dict[str, str]:
        title = GITLAB_COM_TITLE if app.config.get("GITLAB_COM") else APP_TITLE
        return {"app_title": title, "app_colour": "#3f2b7a"}

    return app
