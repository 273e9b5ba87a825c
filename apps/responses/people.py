"""Who answered: mapping a phone number or a Slack user to a Tocsin person, and whether
that person may act on the alert.

Invariant: an answer acts only as a person of the alert's own tenant, found through a
contact method of that tenant (unique per tenant, kind and address), who may act on that
alert on the board: an active user, a member with an operator role (owner, admin,
staff), whose membership covers the alert's site. A number or a Slack user of another
tenant names nobody here, so it changes nothing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from apps.alerts.models import Alert
from apps.audit.models import ActorType
from apps.audit.services import Actor
from apps.oncall.models import ContactKind, ContactMethod
from apps.tenancy.models import OPERATOR_ROLES, Membership

PHONE_CONTACT_KINDS = (ContactKind.SMS, ContactKind.VOICE)


def phone_contacts(number: str) -> dict[int, int]:
    """{tenant id: user id} of the people whose phone (SMS or voice) contact is this number."""
    return dict(ContactMethod.objects.filter(kind__in=PHONE_CONTACT_KINDS, address=number)
                .order_by("tenant_id", "kind").values_list("tenant_id", "user_id").distinct())


def person_for_phone(*, tenant_id: int, number: str):
    user_id = phone_contacts(number).get(tenant_id)
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


def person_for_slack(*, tenant_id: int, slack_user_id: str):
    contact = (ContactMethod.objects.filter(tenant_id=tenant_id, kind=ContactKind.SLACK, address=slack_user_id)
               .select_related("user").first())
    return contact.user if contact else None


def refusal(user, alert: Alert) -> str:
    """Why this person may not act on this alert; "" when they may."""
    if user is None or not user.is_active:
        return "not a person"
    membership = Membership.objects.filter(tenant_id=alert.tenant_id, user=user).first()
    if membership is None or membership.role not in OPERATOR_ROLES:
        return "no operator role"
    if not membership.all_sites and (alert.site_id is None or not membership.sites.filter(pk=alert.site_id).exists()):
        return "site not covered"
    return ""


def display_name(user) -> str:
    return (user.get_full_name() or user.get_username())[:150]


def actor_for(user) -> Actor:
    return Actor(type=ActorType.USER, id=str(user.pk), label=display_name(user))
