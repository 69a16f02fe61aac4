# Provisioning of GitLab.com namespaces: the portal pushes, GitLab.com answers with seat usage.
#
#   portal                                          GitLab.com
#   NamespaceProvision (portal key)         ->      ProvisionAnswer | ErrorAnswer
#     POST /api/v4/internal/gitlab_subscriptions/namespaces/:id/provision
#   NamespaceProvision | ErrorAnswer        <-      NamespaceTrialRequest (GitLab.com's key)
#     POST /api/v1/namespaces/:id/duo_trials (a group owner's trial, applied at once, R25)
#   NamespaceProvision | ErrorAnswer        <-      NamespacePlanTrialRequest (GitLab.com's key)
#     POST /api/v1/namespaces/:id/trials (a Free group owner's Ultimate trial, applied at once)
#
# The direction is the other way round from self-managed (where the instance asks, daily): on
# GitLab.com the Customers Portal sends a top-level group's whole state (its main plan and its
# add-on purchases) whenever it changes, the same sealed envelopes guard it (the portal's key
# signs the request, GitLab.com's key signs the answer, timestamps and nonces, the answer echoes
# the request's nonce), and GitLab.com's answer carries the group's seat usage back, as the real
# ``GitlabSubscription`` entity does (``seats_in_use``, ``max_seats_used``).
#
# Rules this module enforces:
# - A provision is the whole state, never a delta: sending it twice changes nothing the second
#   time, so a push that failed can simply be sent again (the portal's job table retries it).
# - Field names follow GitLab's internal provisioning API (``main_plan``: plan_code,
#   start_date, end_date, seats, trial, trial_starts_on, trial_ends_on, auto_renew;
#   ``add_on_purchases``: add-on name -> list of {quantity, started_on, expires_on,
#   purchase_xid, trial}); the names are ``AddOnTier``'s: the GitLab Duo tiers and
#   ``enterprise_agile_planning`` (R6), each its own purchase.
# - R4: add-on purchases only on Premium and Ultimate; R5: an add-on's seats never exceed the
#   plan's seats; one purchase per add-on name and namespace. One exception, as GitLab.com
#   does it: a GitLab Duo trial started on an Ultimate trial runs to its own end after the
#   Ultimate trial ended and the group went back to Free (nothing is sold on Free: R4 holds).
#   Such a Free plan keeps its ended trial's dates (``trial`` false, ``trial_ends_on`` set), as
#   GitLab's ``gitlab_subscriptions`` row does: the group had its trial.
# - R6, consumption-based add-ons (added later, so optional and sent only when the group has
#   some: a GitLab.com of the earlier version reads the same message as before):
#   ``compute_minutes_packs`` (GitLab's ``Ci::Minutes::AdditionalPack``: number_of_minutes,
#   expires_at, purchase_xid; one row per pack, each pack once) and the purchased storage
#   (``additional_purchased_storage_size`` in MiB with ``additional_purchased_storage_ends_on``,
#   the names of GitLab's ``namespace_limits``). Consumables need no paid plan: a Free group
#   buys minutes and storage too.
# - Both trial requests state who asks as GitLab.com's trial form does (the portal keeps it as a
#   lead). GitLab's later lead fields (added later, so optional and absent when not given: a
#   portal reads a request of the earlier version as before) are those of GitLab's lead params:
#   ``company_size`` (a ``CompanySize``), ``phone_number`` (GitLab's allowed characters) and
#   ``state`` (only for a country GitLab asks a state or province of, ``COUNTRIES_WITH_STATES``).
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, ClassVar, Self

from protocol._fields import (
    Choice,
    Day,
    Document,
    Fields,
    Flag,
    IsoDate,
    NonNegativeInt,
    Nullable,
    Omissible,
    PositiveInt,
    Reader,
    ShortText,
    Text,
    check_date,
    check_enum,
    check_int,
    check_items,
    fail,
    remote,
)
from protocol.errors import LocalProtocolError, RemoteProtocolError
from protocol.license import AddOnTier, Plan

__all__ = [
    "COUNTRIES_WITH_STATES",
    "CompanySize",
    "ComputeMinutesPack",
    "MainPlan",
    "NamespaceAddOnPurchase",
    "NamespacePlanTrialRequest",
    "NamespaceProvision",
    "NamespaceTrialRequest",
    "ProvisionAnswer",
]


@dataclass(frozen=True)
class MainPlan(Document, where="main_plan"):
    """The group's plan: Free, Premium or Ultimate, its seats and term (ends exclusive)."""

    plan_code: Annotated[Plan, Choice(Plan)]
    start_date: IsoDate
    end_date: IsoDate
    seats: NonNegativeInt
    trial: Flag = False
    trial_starts_on: Annotated[date | None, Nullable(Day())] = None
    trial_ends_on: Annotated[date | None, Nullable(Day())] = None
    auto_renew: Flag = False

    def check_rules(self) -> None:
        if self.end_date <= self.start_date:
            fail(LocalProtocolError, "main_plan.end_date", "must be after start_date")
        if (self.trial_starts_on is None) != (self.trial_ends_on is None):
            fail(LocalProtocolError, "main_plan.trial_starts_on", "a trial has both trial dates")
        if self.trial and self.trial_ends_on is None:
            fail(LocalProtocolError, "main_plan.trial_starts_on", "a trial has both trial dates")

    @property
    def had_trial(self) -> bool:
        """A plan trial runs, or ran: GitLab keeps ``trial_ends_on`` once it ended (on Free)."""
        return self.trial_ends_on is not None

    def is_active_on(self, day: date) -> bool:
        return self.start_date <= day < self.end_date


@dataclass(frozen=True)
class NamespaceAddOnPurchase:
    """One add-on purchase of the group (GitLab's ``subscription_add_on_purchases`` row with a
    ``namespace_id``): which add-on, how many seats, its term (expires exclusive)."""

    # The add-on is not among the fields: on the wire it is the key the purchases are grouped by.
    add_on: AddOnTier
    quantity: PositiveInt
    started_on: IsoDate
    expires_on: IsoDate
    purchase_xid: ShortText
    trial: Flag = False

    def __post_init__(self) -> None:
        add_on = check_enum("add_on_purchase.add_on", self.add_on, AddOnTier)
        object.__setattr__(self, "add_on", add_on)
        _ADD_ON_PURCHASE.check(self)
        if self.expires_on <= self.started_on:
            fail(LocalProtocolError, "add_on_purchase.expires_on", "must be after started_on")

    def to_dict(self) -> dict[str, Any]:
        return _ADD_ON_PURCHASE.dump(self)

    @classmethod
    def from_dict(cls, add_on: AddOnTier, data: object, *, where: str) -> Self:
        return _ADD_ON_PURCHASE.load(cls, data, where, add_on=add_on)


# Not a Document: its from_dict is given the add-on, which the group of purchases names.
_ADD_ON_PURCHASE = Fields.declared("add_on_purchase", NamespaceAddOnPurchase)


@dataclass(frozen=True)
class ComputeMinutesPack(Document, where="compute_minutes_pack"):
    """A pack of additional compute minutes bought for the group, usable until it expires
    (exclusive) or is used up; they roll over from month to month (R6)."""

    number_of_minutes: PositiveInt
    expires_at: IsoDate
    purchase_xid: ShortText


_CONSUMABLE_FIELDS = (
    "compute_minutes_packs",
    "additional_purchased_storage_size",
    "additional_purchased_storage_ends_on",
)


@dataclass(frozen=True)
class NamespaceProvision:
    """Portal -> GitLab.com: this top-level group's plan and add-on purchases, whole."""

    TYPE: ClassVar[str] = "namespace_provision"

    namespace_id: int
    main_plan: MainPlan
    add_on_purchases: tuple[NamespaceAddOnPurchase, ...] = ()
    compute_minutes_packs: tuple[ComputeMinutesPack, ...] = ()
    additional_purchased_storage_size: int = 0  # MiB
    additional_purchased_storage_ends_on: date | None = None

    def __post_init__(self) -> None:
        where = "namespace_provision"
        check_int(f"{where}.namespace_id", self.namespace_id, minimum=1)
        packs = check_items(
            f"{where}.compute_minutes_packs", self.compute_minutes_packs, ComputeMinutesPack
        )
        if len({pack.purchase_xid for pack in packs}) != len(packs):
            fail(LocalProtocolError, f"{where}.compute_minutes_packs", "each pack once")
        object.__setattr__(self, "compute_minutes_packs", packs)
        size, ends_on = (
            self.additional_purchased_storage_size,
            self.additional_purchased_storage_ends_on,
        )
        check_int(f"{where}.additional_purchased_storage_size", size)
        if (size > 0) != (ends_on is not None):
            fail(
                LocalProtocolError,
                f"{where}.additional_purchased_storage_ends_on",
                "purchased storage has an end date, and only purchased storage",
            )
        if ends_on is not None:
            check_date(f"{where}.additional_purchased_storage_ends_on", ends_on)
        if not isinstance(self.main_plan, MainPlan):
            fail(LocalProtocolError, f"{where}.main_plan", "expected MainPlan")
        purchases = check_items(
            f"{where}.add_on_purchases", self.add_on_purchases, NamespaceAddOnPurchase
        )
        seen: set[AddOnTier] = set()
        for index, purchase in enumerate(purchases):
            field = f"{where}.add_on_purchases[{index}]"
            if purchase.add_on in seen:
                fail(LocalProtocolError, f"{field}.add_on", "one purchase per add-on")
            seen.add(purchase.add_on)
            if not self.main_plan.plan_code.allows_add_ons and not (
                purchase.trial and self.main_plan.had_trial
            ):  # R4; a Duo trial outlives the Ultimate trial it started on (see the header)
                fail(LocalProtocolError, field, "add-ons need a Premium or Ultimate plan")
            if purchase.quantity > self.main_plan.seats:  # R5
                fail(LocalProtocolError, f"{field}.quantity", "exceeds the plan's seats")
        object.__setattr__(self, "add_on_purchases", purchases)

    def to_dict(self) -> dict[str, Any]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for purchase in self.add_on_purchases:
            grouped.setdefault(purchase.add_on.value, []).append(purchase.to_dict())
        data: dict[str, Any] = {
            "namespace_id": self.namespace_id,
            "main_plan": self.main_plan.to_dict(),
            "add_on_purchases": grouped,
        }
        # Consumables only when there are some: the message stays the earlier one otherwise.
        if self.compute_minutes_packs:
            data["compute_minutes_packs"] = [p.to_dict() for p in self.compute_minutes_packs]
        if self.additional_purchased_storage_ends_on is not None:
            data["additional_purchased_storage_size"] = self.additional_purchased_storage_size
            data["additional_purchased_storage_ends_on"] = (
                self.additional_purchased_storage_ends_on.isoformat()
            )
        return data

    @classmethod
    def from_dict(cls, data: object) -> Self:
        where = "namespace_provision"
        read = Reader(
            where, data, ("namespace_id", "main_plan", "add_on_purchases"), _CONSUMABLE_FIELDS
        )
        grouped = read.mapping("add_on_purchases")
        purchases: list[NamespaceAddOnPurchase] = []
        for name, items in grouped.items():
            field = f"{where}.add_on_purchases.{name}"
            add_on = check_enum(field, name, AddOnTier, error=RemoteProtocolError)
            if not isinstance(items, list):
                fail(RemoteProtocolError, field, "expected an array")
            purchases += [
                NamespaceAddOnPurchase.from_dict(add_on, item, where=f"{field}[{index}]")
                for index, item in enumerate(items)
            ]
        main_plan = MainPlan.from_dict(read.mapping("main_plan"))
        packs: tuple[ComputeMinutesPack, ...] = ()
        if read.data["compute_minutes_packs"] is not None:
            packs = read.objects("compute_minutes_packs", ComputeMinutesPack.from_dict)
        size = 0
        ends_on = None
        if read.data["additional_purchased_storage_ends_on"] is not None:
            size = read.integer("additional_purchased_storage_size")
            ends_on = read.day("additional_purchased_storage_ends_on")
        with remote(where):
            return cls(
                namespace_id=read.integer("namespace_id", minimum=1),
                main_plan=main_plan,
                add_on_purchases=tuple(purchases),
                compute_minutes_packs=packs,
                additional_purchased_storage_size=size,
                additional_purchased_storage_ends_on=ends_on,
            )


@dataclass(frozen=True)
class ProvisionAnswer(Document, where="provision_answer"):
    """GitLab.com -> portal: provisioned; the group's seat usage now (R31, R32)."""

    TYPE: ClassVar[str] = "namespace_provision_answer"

    namespace_id: PositiveInt
    seats_in_use: NonNegativeInt
    max_seats_used: NonNegativeInt


class CompanySize(enum.StrEnum):
    """GitLab's *Number of employees* choices, as its lead params send them (``companySizes`` of
    ``ee/app/assets/javascripts/vue_shared/leads/constants.js``); ``label`` is the option's text."""

    UP_TO_99 = "1-99"
    UP_TO_499 = "100-499"
    UP_TO_1999 = "500-1,999"
    UP_TO_9999 = "2,000-9,999"
    FROM_10000 = "10,000+"

    @property
    def label(self) -> str:
        return _COMPANY_SIZE_LABELS[self]


_COMPANY_SIZE_LABELS = {
    CompanySize.UP_TO_99: "1 - 99",
    CompanySize.UP_TO_499: "100 - 499",
    CompanySize.UP_TO_1999: "500 - 1,999",
    CompanySize.UP_TO_9999: "2,000 - 9,999",
    CompanySize.FROM_10000: "10,000 +",
}


# GitLab asks a state or province of these countries only (``COUNTRIES_WITH_STATES_ALLOWED``).
COUNTRIES_WITH_STATES = ("US", "CA")
# GitLab's telephone number pattern: "Allowed characters: +, 0-9, -, and spaces."
PHONE_NUMBER = re.compile(r"\+*[0-9\- ]+")
PHONE_NUMBER_LENGTH = 50
STATE_LENGTH = 10

# The lead fields added later (the header): absent when not given.
LeadSize = Annotated[CompanySize | None, Omissible(Choice(CompanySize))]
LeadPhone = Annotated[str | None, Omissible(Text(max_length=PHONE_NUMBER_LENGTH))]
LeadState = Annotated[str | None, Omissible(Text(max_length=STATE_LENGTH))]


def check_lead(where: str, phone_number: str | None, country: str, state: str | None) -> None:
    """The lead fields' rules across fields, the same in both trial requests."""
    if phone_number is not None and not PHONE_NUMBER.fullmatch(phone_number):
        fail(
            LocalProtocolError, f"{where}.phone_number", "allowed characters: +, 0-9, - and spaces"
        )
    if state is not None and country not in COUNTRIES_WITH_STATES:
        fail(LocalProtocolError, f"{where}.state", "only for a country with states or provinces")


@dataclass(frozen=True)
class NamespaceTrialRequest(Document, where="namespace_trial_request"):
    """GitLab.com -> portal: an owner of this top-level group asks for a GitLab Duo trial
    (``generate_addon_trial``, R25). The portal answers with the group's whole new state, a
    ``NamespaceProvision``, which GitLab.com applies at once: no waiting for a push or a sync."""

    TYPE: ClassVar[str] = "namespace_trial_request"

    namespace_id: PositiveInt
    add_on: Annotated[AddOnTier, Choice(AddOnTier)]
    # Who asks, as GitLab.com's trial form states them (the portal records a lead): the same
    # fields, checked the same way, in both trial requests.
    email: ShortText
    first_name: ShortText
    last_name: ShortText
    company_name: ShortText
    country: ShortText
    company_size: LeadSize = None
    phone_number: LeadPhone = None
    state: LeadState = None

    def check_rules(self) -> None:
        check_lead("namespace_trial_request", self.phone_number, self.country, self.state)


@dataclass(frozen=True)
class NamespacePlanTrialRequest(Document, where="namespace_plan_trial_request"):
    """GitLab.com -> portal: an owner of this Free top-level group asks for a 30-day Ultimate
    trial (GitLab's ``generate_trial`` with ``gitlab_com_trial``; the group's path names it in
    the portal). The answer is the group's whole new state, a ``NamespaceProvision``, applied at
    once, as the Duo trial's is."""

    TYPE: ClassVar[str] = "namespace_plan_trial_request"

    namespace_id: PositiveInt
    namespace_path: ShortText
    # Who asks: as in NamespaceTrialRequest.
    email: ShortText
    first_name: ShortText
    last_name: ShortText
    company_name: ShortText
    country: ShortText
    company_size: LeadSize = None
    phone_number: LeadPhone = None
    state: LeadState = None

    def check_rules(self) -> None:
        check_lead("namespace_plan_trial_request", self.phone_number, self.country, self.state)
