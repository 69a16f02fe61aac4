# License documents: what the portal signs and the instance obeys.
#
# Rules this module enforces on every license, whoever built it:
# - R4: add-on products only on Premium and Ultimate, never on Free.
# - R5: no add-on product has more seats than the license itself.
# - R6: at most one GitLab Duo tier per license, and add-on terms never overlap, so on any
#   day at most one Duo add-on is in force (an upgrade ends Pro where Enterprise starts).
# - R9: a plan trial is a legacy license; only legacy licenses can be plan trials.
# - A legacy license is a file, not bound to an instance: it carries no instance_id.
# - A term runs from starts_on (inclusive) to ends_on (exclusive), as GitLab's own licenses
#   and add-on purchases do: on ends_on the license has expired.
# - On the wire, dates are "YYYY-MM-DD", issued_at a UTC timestamp, and the document's fields
#   are exactly those below; signing is in signing.py, typ "provlab-license+jws".
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Self, overload

from protocol._fields import (
    Choice,
    Document,
    Flag,
    IsoDate,
    Nullable,
    PositiveInt,
    ShortText,
    Text,
    check_datetime,
    check_items,
    fail,
    remote,
)
from protocol.clock import format_utc
from protocol.encoding import canonical_json, parse_json
from protocol.errors import (
    LicenseExpired,
    LicenseNotYetValid,
    LocalProtocolError,
    RemoteProtocolError,
)
from protocol.signing import KeySet, SigningKey, armor, dearmor, sign, verify
from protocol.versions import GitLabVersion

__all__ = [
    "LICENSE_TYP",
    "AddOnProduct",
    "AddOnTier",
    "License",
    "LicenseType",
    "Licensee",
    "Plan",
    "license_file",
    "read_license_file",
    "sign_license",
    "verify_license",
]

LICENSE_TYP = "provlab-license+jws"


class Plan(enum.StrEnum):
    FREE = "free"
    PREMIUM = "premium"
    ULTIMATE = "ultimate"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def allows_add_ons(self) -> bool:
        """R4: add-ons are sold on Premium and Ultimate only."""
        return self is not Plan.FREE


class _Labelled(enum.StrEnum):
    """A StrEnum whose members carry the name people see: ``NAME = "value", "Label"``."""

    label: str

    # One value: the member with that value (Enum's lookup, ``AddOnTier("duo_pro")``); a value
    # and a label: a member's definition, as written in the class body.
    @overload
    def __new__(cls, value: str) -> Self: ...
    @overload
    def __new__(cls, value: str, label: str) -> Self: ...
    def __new__(cls, value: str, label: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class LicenseType(_Labelled):
    # Labelled with the name admins see in the real product.
    ONLINE_CLOUD = "online_cloud", "Online license"
    OFFLINE_CLOUD = "offline_cloud", "Offline license"
    LEGACY = "legacy", "Legacy license"

    @property
    def is_cloud(self) -> bool:
        return self is not LicenseType.LEGACY


class AddOnTier(_Labelled):
    """A user-based add-on (R6). The name keeps its first meaning, a GitLab Duo tier; Enterprise
    Agile Planning is the one user-based add-on that is not GitLab Duo."""

    DUO_PRO = "duo_pro", "GitLab Duo Pro"
    DUO_ENTERPRISE = "duo_enterprise", "GitLab Duo Enterprise"
    ENTERPRISE_AGILE_PLANNING = "enterprise_agile_planning", "Enterprise Agile Planning"

    @property
    def is_duo(self) -> bool:
        """R6: a subscription holds one GitLab Duo tier at a time; other add-ons sit beside it."""
        return self is not AddOnTier.ENTERPRISE_AGILE_PLANNING

    @property
    def minimum_gitlab_version(self) -> GitLabVersion:
        """R17: the oldest self-managed GitLab that can use this tier."""
        return _ADD_ON_TIER_MINIMUM_VERSIONS[self]


_ADD_ON_TIER_MINIMUM_VERSIONS = {
    AddOnTier.DUO_PRO: GitLabVersion(16, 8),
    AddOnTier.DUO_ENTERPRISE: GitLabVersion(17, 3),
    # No version gate is documented for Enterprise Agile Planning: the oldest GitLab that knows
    # add-on purchases at all, Duo Pro's.
    AddOnTier.ENTERPRISE_AGILE_PLANNING: GitLabVersion(16, 8),
}


@dataclass(frozen=True)
class Licensee(Document, where="licensee"):
    name: ShortText
    email: ShortText
    # A licensee may be a person without a company.
    company: Annotated[str, Text(allow_empty=True)]

    def check_rules(self) -> None:
        local, at, domain = self.email.partition("@")
        if not (local and at and domain) or "@" in domain or any(c.isspace() for c in self.email):
            fail(LocalProtocolError, "licensee.email", "expected an email address")


@dataclass(frozen=True)
class AddOnProduct(Document, where="add_on_product"):
    """An add-on the license entitles the instance to (R1): tier, seats, term, purchase."""

    tier: Annotated[AddOnTier, Choice(AddOnTier)]
    quantity: PositiveInt
    starts_on: IsoDate
    ends_on: IsoDate
    trial: Flag
    purchase_id: ShortText

    def check_rules(self) -> None:
        if self.ends_on <= self.starts_on:
            fail(LocalProtocolError, "add_on_product.ends_on", "must be after starts_on")

    def is_active_on(self, day: date) -> bool:
        return self.starts_on <= day < self.ends_on

    def overlaps(self, other: AddOnProduct) -> bool:
        return self.starts_on < other.ends_on and other.starts_on < self.ends_on


@dataclass(frozen=True)
class License(Document, where="license"):
    # The licensee, issued_at and the add-on products are checked, written and read by hand.
    license_id: ShortText
    subscription_name: ShortText
    licensee: Licensee
    plan: Annotated[Plan, Choice(Plan)]
    seats: PositiveInt
    starts_on: IsoDate
    ends_on: IsoDate
    trial: Flag
    license_type: Annotated[LicenseType, Choice(LicenseType)]
    issued_at: datetime
    add_on_products: tuple[AddOnProduct, ...] = ()
    # The instance a cloud license is bound to (None: not bound; always None for legacy).
    instance_id: Annotated[str | None, Nullable(Text())] = None

    def check_rules(self) -> None:
        if not isinstance(self.licensee, Licensee):
            fail(LocalProtocolError, "license.licensee", "expected a Licensee")
        if self.ends_on <= self.starts_on:
            fail(LocalProtocolError, "license.ends_on", "must be after starts_on")
        issued_at = check_datetime("license.issued_at", self.issued_at)
        object.__setattr__(self, "issued_at", issued_at.astimezone(UTC))
        products = check_items("license.add_on_products", self.add_on_products, AddOnProduct)
        object.__setattr__(self, "add_on_products", products)
        if self.trial and self.license_type is not LicenseType.LEGACY:
            fail(
                LocalProtocolError,
                "license.trial",
                "a plan trial is issued as a legacy license only",
            )
        if self.license_type is LicenseType.LEGACY and self.instance_id is not None:
            fail(
                LocalProtocolError,
                "license.instance_id",
                "a legacy license is not bound to an instance",
            )
        if self.add_on_products and not self.plan.allows_add_ons:
            fail(
                LocalProtocolError,
                "license.add_on_products",
                f"add-ons are sold on Premium and Ultimate only, not on {self.plan.label}",
            )
        tiers: set[AddOnTier] = set()
        for index, product in enumerate(self.add_on_products):
            where = f"license.add_on_products[{index}]"
            if product.quantity > self.seats:
                fail(
                    LocalProtocolError,
                    f"{where}.quantity",
                    f"{product.quantity} add-on seats exceed the license's {self.seats} seats",
                )
            if product.tier.is_duo:
                tiers.add(product.tier)
            if len(tiers) > 1:
                fail(
                    LocalProtocolError,
                    f"{where}.tier",
                    "a license holds at most one GitLab Duo tier",
                )
            for earlier in self.add_on_products[:index]:
                # Duo's terms follow one another; another add-on's terms run beside them (R6).
                if product.tier.is_duo == earlier.tier.is_duo and product.overlaps(earlier):
                    fail(
                        LocalProtocolError,
                        f"{where}.starts_on",
                        "overlaps the term of another add-on product",
                    )

    @property
    def term(self) -> tuple[date, date]:
        return self.starts_on, self.ends_on

    def is_active_on(self, day: date) -> bool:
        return self.starts_on <= day < self.ends_on

    def check_term(self, today: date) -> None:
        """Raise LicenseNotYetValid or LicenseExpired unless the license is in force today."""
        if today < self.starts_on:
            raise LicenseNotYetValid(
                f"the license is not valid before {self.starts_on.isoformat()}",
                field="license.starts_on",
            )
        if today >= self.ends_on:
            raise LicenseExpired(
                f"the license expired on {self.ends_on.isoformat()}", field="license.ends_on"
            )

    def active_add_on_products(self, day: date) -> tuple[AddOnProduct, ...]:
        return tuple(product for product in self.add_on_products if product.is_active_on(day))

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {
            "licensee": self.licensee.to_dict(),
            "issued_at": format_utc(self.issued_at),
            "add_on_products": [product.to_dict() for product in self.add_on_products],
        }

    @classmethod
    def from_dict(cls, data: object, *, where: str | None = None) -> Self:
        read = cls.FIELDS.reader(data, where, others=("licensee", "issued_at", "add_on_products"))
        products = read.objects("add_on_products", AddOnProduct.from_dict)
        licensee = Licensee.from_dict(read.data["licensee"], where=read.path("licensee"))
        values = cls.FIELDS.values(read)
        with remote(read.where):
            return cls(
                **values,
                licensee=licensee,
                issued_at=read.instant("issued_at"),
                add_on_products=products,
            )


def sign_license(license: License, key: SigningKey) -> str:
    if not isinstance(license, License):
        fail(LocalProtocolError, "sign_license.license", "expected a License")
    return sign(canonical_json(license.to_dict()), key, LICENSE_TYP)


def verify_license(token: str, keys: KeySet) -> License:
    """The license in `token`: InvalidSignature if unsigned by `keys`, RemoteProtocolError if
    validly signed but not a well-formed license (the signer has a bug; say which field)."""
    payload = verify(token, keys, LICENSE_TYP)
    try:
        data = parse_json(payload)
    except ValueError:
        fail(RemoteProtocolError, "license", "expected a JSON object")
    return License.from_dict(data)


def license_file(license: License, key: SigningKey) -> str:
    """The text of a license file (offline and legacy licenses are uploaded as files)."""
    return armor(sign_license(license, key))


def read_license_file(text: str, keys: KeySet) -> License:
    return verify_license(dearmor(text), keys)
