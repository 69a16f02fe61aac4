"""Fixtures of the job table's tests: the instance's database with a test-local registry
(see ``tests.support.jobs``), whose handlers insert evidence rows named after their job key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from instance.models import Job, db
from tests.support.jobs import build_registry, scheduler_for
from webcore.jobs import JobScheduler


@pytest.fixture
def app(make_instance: Any) -> Iterator[Flask]:
    app = make_instance()
    with app.app_context():
        db.session.execute(sa.delete(Job))  # the instance's own periodic jobs are not ours
        db.session.commit()
    yield app


@pytest.fixture
def executions(tmp_path: Path) -> Path:
    return tmp_path / "executions.log"


@pytest.fixture
def scheduler(app: Flask, executions: Path) -> JobScheduler:
    return scheduler_for(app, build_registry(str(executions)))
