"""webcore.db's two statements of every operation: ``find`` (a row by its key) and ``inserted``
(a new row, flushed), on a small table of their own, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Mapped, mapped_column

from tests.support import databases
from webcore.db import engine_options, new_database

pytestmark = pytest.mark.all_backends

db = new_database()


class Shelf(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shelf"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(unique=True)
    room: Mapped[str]


@pytest.fixture
def app(db_backend: str, database_pool: databases.Pool) -> Iterator[Flask]:
    url = database_pool.empty_database("shelves", db_backend)
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=engine_options(url))
    db.init_app(app)
    with app.app_context():
        db.create_all()
        yield app
        db.session.rollback()
        db.drop_all()
        db.engine.dispose()
    database_pool.release(url)


def test_inserted_flushes_the_row_so_it_has_its_id_before_commit(app: Flask) -> None:
    shelf = db.inserted(Shelf(label="A1", room="north"))
    assert shelf.id is not None
    # Flushed, not committed: the row is there for this transaction only.
    assert db.session.execute(sa.select(sa.func.count(Shelf.id))).scalar_one() == 1
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(Shelf.id))).scalar_one() == 0


def test_inserted_fails_on_a_duplicate_key_at_once(app: Flask) -> None:
    db.inserted(Shelf(label="A1", room="north"))
    with pytest.raises(sa.exc.IntegrityError):
        db.inserted(Shelf(label="A1", room="south"))


def test_find_returns_the_one_row_or_none(app: Flask) -> None:
    north = db.inserted(Shelf(label="A1", room="north"))
    db.inserted(Shelf(label="A2", room="north"))
    assert db.find(Shelf, Shelf.label == "A1") is north
    assert db.find(Shelf, Shelf.label == "A1", Shelf.room == "north", lock=True) is north
    assert db.find(Shelf, Shelf.label == "B9") is None


def test_find_refuses_criteria_that_are_not_a_key(app: Flask) -> None:
    db.inserted(Shelf(label="A1", room="north"))
    db.inserted(Shelf(label="A2", room="north"))
    with pytest.raises(sa.exc.MultipleResultsFound):
        db.find(Shelf, Shelf.room == "north")
