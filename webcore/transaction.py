"""One transaction per request, per CLI command and per scenario step: the only place that commits.

A request commits once, after it is answered without an exception (before-request hooks, the view
and after-request hooks all done); any exception escaping them (a refusal, a 404, a CSRF failure,
a bug) rolls back everything the request wrote before the error handler answers, so the page it
renders sees the database as it was. A commit that fails answers 500, never the 200 the view
meant. A safe request (GET, HEAD, OPTIONS) never commits: whatever it wrote is rolled back and
logged as the bug it is; the one exception is an OAuth step the protocol makes a GET
(``commits_on_get`` / ``commit_this_get``): a redirect's callback (RFC 6749 4.1.2), which must
keep the link it records, and an authorization granted without asking again. Jobs have their
own boundary (``webcore.jobs``); command-line tools and scenario drivers open a
``unit_of_work``.

How Flask runs a request (``wsgi_app`` → ``full_dispatch_request``): before-request hooks and the
view run inside a ``try`` whose ``except`` calls ``handle_user_exception`` (error handlers), then
``finalize_request`` runs the after-request hooks on whatever answered, error pages included. An
after-request hook therefore can't tell success from a handled error; wrapping the two methods
can: ``handle_user_exception`` sees every exception first (rolls back, marks the request
failed) and the end of ``full_dispatch_request`` is after everything that may write.

Side effects outside the database (mail, calls to other servers) must not happen for work that
is rolled back: mail goes through the outbox (a row written in the same transaction, delivered by
a job); anything else registers with ``after_commit``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from flask import Flask, current_app, g, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_FAILED = "_provlab_request_failed"
_CALLBACKS = "provlab.after_commit"
_FLUSHED = "provlab.flushed"
_COMMITS_ON_GET = "_provlab_commits_on_get"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_transaction(app: Flask, db: SQLAlchemy) -> None:
    """Make every request of ``app`` one transaction (see the module's docstring)."""
    handle_user_exception = app.handle_user_exception
    full_dispatch_request = app.full_dispatch_request

    @functools.wraps(handle_user_exception)
    def _on_exception(error: Exception) -> Any:
        setattr(g, _FAILED, True)
        _rollback(db.session)
        return handle_user_exception(error)

    @functools.wraps(full_dispatch_request)
    def _dispatch() -> Any:
        response = full_dispatch_request()
        session = db.session
        if g.pop(_FAILED, False):
            _rollback(session)  # whatever an error handler or hook wrote after the error
        elif request.method in SAFE_METHODS and not g.pop(_COMMITS_ON_GET, False):
            if _wrote(session):
                log.error("%s %s wrote to the database: rolled back", request.method, request.path)
            _rollback(session)
        else:
            _commit(session)
        return response

    if not event.contains(Session, "after_flush", _note_flush):
        event.listen(Session, "after_flush", _note_flush)
    app.handle_user_exception = _on_exception  # type: ignore[method-assign,assignment]
    app.full_dispatch_request = _dispatch  # type: ignore[method-assign]


def commit_this_get() -> None:
    """This GET request commits what it writes: an OAuth step the protocol makes a GET (a
    callback; an authorization GitLab grants without asking again). See the module docstring."""
    setattr(g, _COMMITS_ON_GET, True)


def commits_on_get(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let this GET view commit what it writes (an OAuth callback; see the module docstring).
    Its forgery protection is the OAuth ``state`` it checks, not a CSRF token."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        commit_this_get()
        return view(*args, **kwargs)

    return wrapped


def discard_changes() -> None:
    """The current request answers normally but keeps nothing it wrote (a GraphQL mutation
    whose fields did not all succeed answers 200 with ``errors``): roll back now, and roll back
    again at the end instead of committing."""
    setattr(g, _FAILED, True)
    _rollback(current_app.extensions["sqlalchemy"].session)


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current transaction has committed; never if it rolls back."""
    session = current_app.extensions["sqlalchemy"].session
    session.info.setdefault(_CALLBACKS, []).append(callback)


@contextmanager
def unit_of_work(app: Flask | None = None) -> Iterator[Session]:
    """One unit of work outside a request (a CLI command, a scenario step, first-start setup):
    commit when the block ends normally, roll back when an exception leaves it.

    With ``app`` the block runs in a fresh application context of that app (its own session);
    without, in the current one.
    """
    with app.app_context() if app is not None else nullcontext():
        session = current_app.extensions["sqlalchemy"].session
        try:
            yield session
        except BaseException:
            _rollback(session)
            raise
        _commit(session)


def _note_flush(session: Session, _context: Any) -> None:
    session.info[_FLUSHED] = True


def _wrote(session: Any) -> bool:
    return bool(session.info.get(_FLUSHED) or session.new or session.dirty or session.deleted)


def _commit(session: Any) -> None:
    try:
        session.commit()
    except BaseException:
        _rollback(session)
        raise
    session.info.pop(_FLUSHED, None)
    callbacks = session.info.pop(_CALLBACKS, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            # The work is committed; a failed side effect must not turn it into an error answer.
            log.exception("after-commit callback %r failed", callback)


def _rollback(session: Any) -> None:
    session.info.pop(_CALLBACKS, None)
    session.info.pop(_FLUSHED, None)
    session.rollback()
