"""Writes for a person's contact methods and notification rules.

Invariants: an address is validated and normalised before it is stored (E.164 for sms and
voice, one email address, a Slack user id), so an inbound reply matches it exactly; a
person's methods and rules belong to one tenant and to a member of it; and no address ever
reaches an audit entry or a log line (they are personal data): entries name the kind and
the contact method's public id only.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction

from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError, ConflictError
from apps.common.phone import phone_number_normalise
from apps.oncall.models import ContactKind, ContactMethod, NotificationRule
from apps.tenancy.models import Tenant

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,20}$")
MAX_METHODS_PER_PERSON = 20
MAX_RULES_PER_PERSON = 20


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, fields={"address": [message]})


def contact_address_normalise(*, kind: str, address: str) -> str:
    """The stored form of an address; raises ApplicationError naming the field."""
    address = (address or "").strip()
    if kind in (ContactKind.SMS, ContactKind.VOICE):
        return phone_number_normalise(address, field="address")
    if kind == ContactKind.EMAIL:
        try:
            EmailValidator()(address)
        except ValidationError as exc:
            raise _invalid("Enter one email address.") from exc
        local, _, domain = address.rpartition("@")
        return f"{local}@{domain.lower()}"
    if kind == ContactKind.SLACK:
        if not SLACK_USER_ID.match(address):
            raise _invalid("Enter a Slack member id (U0123ABCD), found in the person's Slack profile.")
        return address
    raise ApplicationError("Unknown contact kind.", fields={"kind": ["invalid"]})


def _check_member(tenant: Tenant, user) -> None:
    if not tenant.memberships.filter(user=user).exists():
        raise ApplicationError("This person is not a member of the tenant.", fields={"user": ["not a member"]})


def _audit(method: ContactMethod, actor: Actor, action: str, **details) -> None:
    audit_record(tenant=method.tenant, actor=actor, action=action, target_type="contact_method",
                 target_id=method.public_id, details={"kind": method.kind, "user": method.user_id, **details})


def contact_method_create(*, tenant: Tenant, user, kind: str, address: str, actor: Actor,
                          label: str = "") -> ContactMethod:
    _check_member(tenant, user)
    address = contact_address_normalise(kind=kind, address=address)
    if ContactMethod.objects.filter(tenant=tenant, user=user).count() >= MAX_METHODS_PER_PERSON:
        raise ApplicationError(f"A person has at most {MAX_METHODS_PER_PERSON} contact methods.")
    method = ContactMethod(tenant=tenant, user=user, kind=kind, address=address, label=(label or "")[:60])
    try:
        with transaction.atomic():
            method.save()
            _audit(method, actor, "contact_method.created")
    except IntegrityError as exc:  # the unique (tenant, kind, address) decides, not a check before
        raise ConflictError("This address is already a contact method of someone in this tenant.",
                            code="contact_method_taken") from exc
    return method


def contact_method_update(*, method: ContactMethod, actor: Actor, address: str | None = None,
                          label: str | None = None) -> ContactMethod:
    changed = []
    if address is not None:
        method.address = contact_address_normalise(kind=method.kind, address=address)
        changed.append("address")
    if label is not None:
        method.label = label[:60]
        changed.append("label")
    try:
        with transaction.atomic():
            method.save()
            _audit(method, actor, "contact_method.changed", fields=changed)
    except IntegrityError as exc:
        raise ConflictError("This address is already a contact method of someone in this tenant.",
                            code="contact_method_taken") from exc
    return method


def contact_method_delete(*, method: ContactMethod, actor: Actor) -> None:
    """Its rules go with it; its personal channel (if it was ever paged) stays as history."""
    with transaction.atomic():
        _audit(method, actor, "contact_method.deleted")
        method.delete()


def notification_rule_create(*, method: ContactMethod, delay_minutes: int, actor: Actor) -> NotificationRule:
    if not 0 <= delay_minutes <= 24 * 60:
        raise ApplicationError("The delay is 0 to 1440 minutes.", fields={"delay_minutes": ["out of range"]})
    if NotificationRule.objects.filter(tenant_id=method.tenant_id, user_id=method.user_id).count() \
            >= MAX_RULES_PER_PERSON:
        raise ApplicationError(f"A person has at most {MAX_RULES_PER_PERSON} notification rules.")
    rule = NotificationRule(tenant_id=method.tenant_id, user_id=method.user_id, contact_method=method,
                            delay_minutes=delay_minutes)
    try:
        with transaction.atomic():
            rule.save()
            audit_record(tenant=method.tenant, actor=actor, action="notification_rule.created",
                         target_type="notification_rule", target_id=rule.public_id,
                         details={"kind": method.kind, "delay_minutes": delay_minutes, "user": method.user_id})
    except IntegrityError as exc:
        raise ConflictError("This contact method already has a rule with this delay.", code="rule_exists") from exc
    return rule


def notification_rule_update(*, rule: NotificationRule, delay_minutes: int, actor: Actor) -> NotificationRule:
    if not 0 <= delay_minutes <= 24 * 60:
        raise ApplicationError("The delay is 0 to 1440 minutes.", fields={"delay_minutes": ["out of range"]})
    rule.delay_minutes = delay_minutes
    try:
        with transaction.atomic():
            rule.save(update_fields=["delay_minutes"])
            audit_record(tenant=rule.tenant, actor=actor, action="notification_rule.changed",
                         target_type="notification_rule", target_id=rule.public_id,
                         details={"delay_minutes": delay_minutes})
    except IntegrityError as exc:
        raise ConflictError("This contact method already has a rule with this delay.", code="rule_exists") from exc
    return rule


def notification_rule_delete(*, rule: NotificationRule, actor: Actor) -> None:
    with transaction.atomic():
        audit_record(tenant=rule.tenant, actor=actor, action="notification_rule.deleted",
                     target_type="notification_rule", target_id=rule.public_id, details={})
        rule.delete()
