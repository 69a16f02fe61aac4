"""The portal's tables. Feature tables join this module as the features arrive."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

from webcore.db import NAMING_CONVENTION, TYPE_ANNOTATION_MAP
from webcore.jobs import JobMixin


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map=TYPE_ANNOTATION_MAP,
    )


db = SQLAlchemy(model_class=Base)


class Role:
    CUSTOMER = "customer"
    SUPPORT = "support"
    SALES = "sales"
    ALL = (CUSTOMER, SUPPORT, SALES)


class Account(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    """Someone who signs in to the portal: a customer contact, a support engineer, sales."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    role: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[dt.datetime]

    @property
    def display_name(self) -> str:
        return self.name


class Job(JobMixin, db.Model):  # type: ignore[name-defined,misc]
    """The portal's scheduled work (see webcore.jobs)."""


class SeenNonce(db.Model):  # type: ignore[name-defined,misc]
    """Nonces of accepted signed requests, kept until their freshness window has passed."""

    __tablename__ = "seen_nonces"

    nonce: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
