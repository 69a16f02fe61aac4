"""The one transaction boundary and the one refusal handler (webcore.transaction, webcore.errors),
on a small app of their own, and the rule that nothing outside webcore commits by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, get_flashed_messages
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from webcore.db import Database
from webcore.errors import Refusal, init_error_handler, refusal_redirects, refusal_renders
from webcore.transaction import after_commit, discard_changes, init_transaction, unit_of_work

ROOT = Path(__file__).resolve().parents[2]


class Base(DeclarativeBase):
    pass


db = Database(model_class=Base)


class Note(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(unique=True)


def _count() -> int:
    return db.session.execute(sa.select(sa.func.count(Note.id))).scalar_one()


def _add(text: str) -> None:
    db.inserted(Note(text=text))


def make_app(tmp_path: Path, *, testing: bool = True) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'notes.db'}",
        SECRET_KEY="test",
        TESTING=testing,
    )
    db.init_app(app)
    init_transaction(app, db)
    init_error_handler(app)
    side_effects: list[str] = []
    app.extensions["side_effects"] = side_effects

    @app.post("/notes/<text>")
    def add(text: str) -> str:
        _add(text)
        after_commit(lambda: side_effects.append(text))
        return "added"

    @app.post("/refuse/<text>")
    def refuse(text: str) -> str:
        _add(text)  # flushed: the row is in the transaction when the refusal comes
        after_commit(lambda: side_effects.append(text))
        raise Refusal("Not this one.", code="not_this_one", rule="R5")

    @app.post("/crash/<text>")
    def crash(text: str) -> str:
        _add(text)
        raise RuntimeError("a bug")

    @app.post("/again/<text>")
    def again(text: str) -> object:
        def page(refused: Refusal) -> tuple[str, int]:
            # Rendered after the rollback: the page sees the database as it was.
            flashed = "|".join(get_flashed_messages())
            return f"form again; notes={_count()}; flashed={flashed}", 422

        with refusal_renders(page):
            _add(text)
            raise Refusal("Try again.")
        return "unreachable"

    @app.post("/back")
    def back() -> str:
        with refusal_redirects("/notes-page"):
            raise Refusal("Go back.")

    @app.post("/api/things")
    def api_refusal() -> str:
        _add("api")
        raise Refusal("Bad thing.", code="bad_thing", status=409)

    @app.post("/duplicate/<text>")
    def duplicate(text: str) -> str:
        db.session.add(Note(text=text))  # not flushed: the commit itself fails
        return "looks fine"

    @app.post("/discard/<text>")
    def discard(text: str) -> dict[str, bool]:
        _add(text)
        discard_changes()
        _add(text + "-later")  # written after the discard: not kept either
        return {"answered": True}

    @app.get("/sneaky/<text>")
    def sneaky(text: str) -> str:
        _add(text)  # a GET that writes: a bug, never committed
        return "shown"

    with app.app_context():
        db.create_all()
    return app


def _notes(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.execute(sa.select(Note.text).order_by(Note.id)).scalars())


def test_a_request_answered_normally_commits_once_then_runs_its_side_effects(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    assert app.test_client().post("/notes/one").status_code == 200
    assert _notes(app) == ["one"]
    assert app.extensions["side_effects"] == ["one"]


def test_a_refusal_after_a_flush_rolls_the_request_back_and_drops_its_side_effects(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    client = app.test_client()
    response = client.post("/refuse/two", headers={"Referer": "http://localhost/form?x=1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/form?x=1"  # back to the local referrer
    assert _notes(app) == []
    assert app.extensions["side_effects"] == []
    with client.session_transaction() as session:
        assert session["_flashes"] == [("error", "Not this one.")]


def test_any_exception_escaping_the_view_rolls_back(tmp_path: Path) -> None:
    app = make_app(tmp_path, testing=False)
    assert app.test_client().post("/crash/three").status_code == 500
    assert _notes(app) == []


def test_a_failed_commit_answers_500_never_the_views_200(tmp_path: Path) -> None:
    app = make_app(tmp_path, testing=False)
    client = app.test_client()
    assert client.post("/notes/same").status_code == 200
    assert client.post("/duplicate/same").status_code == 500
    assert _notes(app) == ["same"]
    assert client.post("/notes/after").status_code == 200  # the session recovered
    assert _notes(app) == ["same", "after"]


def test_a_refused_page_re_renders_after_the_rollback_with_the_message_flashed(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    response = app.test_client().post("/again/four")
    assert response.status_code == 422
    assert response.get_data(as_text=True) == "form again; notes=0; flashed=Try again."
    assert _notes(app) == []


def test_a_refused_page_goes_where_the_route_says_and_never_to_another_host(
    tmp_path: Path,
) -> None:
    client = make_app(tmp_path).test_client()
    named = client.post("/back", headers={"Referer": "http://localhost/elsewhere"})
    assert named.headers["Location"] == "/notes-page"
    for referrer in ("https://evil.example/x", "http://localhost//evil.example/", None):
        headers = {"Referer": referrer} if referrer else {}
        refused = client.post("/refuse/x", headers=headers)
        assert refused.status_code == 302 and refused.headers["Location"] == "/"


def test_api_and_json_requests_get_the_refusal_as_json(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    client = app.test_client()
    response = client.post("/api/things")
    assert response.status_code == 409
    assert response.get_json() == {"message": "Bad thing.", "code": "bad_thing"}
    as_json = client.post("/refuse/five", json={})
    assert as_json.status_code == 422
    assert as_json.get_json() == {"message": "Not this one.", "code": "not_this_one", "rule": "R5"}
    assert _notes(app) == []


def test_discard_changes_keeps_nothing_of_a_request_that_answers_normally(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    response = app.test_client().post("/discard/six")
    assert response.status_code == 200 and response.get_json() == {"answered": True}
    assert _notes(app) == []


def test_a_get_or_head_never_commits_and_a_write_in_one_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path)
    client = app.test_client()
    assert client.get("/sneaky/seven").status_code == 200
    assert client.head("/sneaky/eight").status_code == 200
    assert _notes(app) == []
    assert "GET /sneaky/seven wrote to the database: rolled back" in caplog.text


def test_a_unit_of_work_commits_on_success_and_rolls_back_on_an_exception(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    done: list[str] = []
    with unit_of_work(app):
        _add("kept")
        after_commit(lambda: done.append("kept"))
    with pytest.raises(Refusal), unit_of_work(app):
        _add("dropped")
        after_commit(lambda: done.append("dropped"))
        raise Refusal("No.")
    assert _notes(app) == ["kept"]
    assert done == ["kept"]


def test_the_project_errors_are_refusals_with_codes() -> None:
    from instance.add_ons import AssignmentError
    from instance.api import ApiError
    from instance.bulk_assignment import BulkAssignmentError
    from instance.licenses import LicenseError
    from instance.users import UserError
    from portal.errors import Refused
    from portal.payments import PaymentDeclined

    for error in (
        Refused("No.", rule="R5"),
        PaymentDeclined("Declined."),
        UserError("Name can't be blank"),
        AssignmentError("NO_SEATS_AVAILABLE"),
        LicenseError("Expired."),
        ApiError(404, "404 User Not Found"),
        BulkAssignmentError("No purchase."),
    ):
        assert isinstance(error, Refusal) and error.code and error.message
    assert PaymentDeclined("x").code == "payment_declined"
    assert ApiError(404, "404 User Not Found").json_body() == {"message": "404 User Not Found"}
    assert str(AssignmentError("NO_SEATS_AVAILABLE")).startswith("NO_SEATS_AVAILABLE: ")


COMMIT = re.compile(r"\.commit\(\)|\.rollback\(\)")


def test_nothing_outside_webcore_commits_or_rolls_back_by_hand() -> None:
    offenders = []
    for package in ("portal", "instance", "provlab", "protocol"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            # The one sanctioned commit mid-request is webcore.outbound.outside_transaction.
            if "/migrations/" in relative:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if COMMIT.search(line):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
