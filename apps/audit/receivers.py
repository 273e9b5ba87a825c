"""What the audit log records on its own, by receiving lower apps' signals."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from apps.audit.services import Actor, audit_record
from apps.tenancy.models import Membership, Tenant
from apps.tenancy.signals import config_changed, login_locked_out, membership_changed, membership_removed


def _tenants_of(user) -> list[Tenant]:
    return [m.tenant for m in Membership.objects.filter(user=user).select_related("tenant")]


def record_login(user, *, channel: str) -> None:
    for tenant in _tenants_of(user) or [None]:
        audit_record(tenant=tenant, actor=Actor.for_user(user), action="user.login",
                     target_type="user", target_id=str(user.pk), details={"channel": channel})


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    api = request is not None and request.path.startswith("/api/")
    record_login(user, channel="jwt" if api else "session")


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    from django.contrib.auth import get_user_model

    username = (credentials or {}).get("username") or ""
    user = get_user_model().objects.filter(username=username).first() if username else None
    if user is None:
        # The attempted name is not recorded: it may be someone's email address.
        audit_record(tenant=None, actor=Actor.system("anonymous"), action="user.login_failed",
                     details={"reason": "unknown_user"})
        return
    for tenant in _tenants_of(user) or [None]:
        audit_record(tenant=tenant, actor=Actor.system("anonymous"), action="user.login_failed",
                     target_type="user", target_id=str(user.pk), details={"reason": "bad_credentials"})


@receiver(login_locked_out)
def on_login_locked_out(sender, username, seconds, **kwargs):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        # As for failed logins: the name typed is not recorded, it may be someone's email address.
        audit_record(tenant=None, actor=Actor.system("anonymous"), action="user.login_locked",
                     details={"reason": "unknown_user", "seconds": seconds})
        return
    for tenant in _tenants_of(user) or [None]:
        audit_record(tenant=tenant, actor=Actor.system("anonymous"), action="user.login_locked",
                     target_type="user", target_id=str(user.pk), details={"seconds": seconds})


@receiver(membership_changed)
def on_membership_changed(sender, membership, created, actor=None, **kwargs):
    audit_record(
        tenant=membership.tenant, actor=Actor.for_user(actor), action="membership.added" if created
        else "membership.changed", target_type="user", target_id=str(membership.user_id),
        details={"role": membership.role, "all_sites": membership.all_sites,
                 "sites": sorted(membership.sites.values_list("public_id", flat=True))},
    )


@receiver(membership_removed)
def on_membership_removed(sender, membership, actor=None, **kwargs):
    audit_record(
        tenant=membership.tenant, actor=Actor.for_user(actor), action="membership.removed", target_type="user",
        target_id=str(membership.user_id), details={"role": membership.role},
    )


@receiver(config_changed)
def on_config_changed(sender, tenant, actor, action, target_type, target_id, details, **kwargs):
    audit_record(tenant=tenant, actor=actor if isinstance(actor, Actor) else Actor.for_user(actor), action=action,
                 target_type=target_type, target_id=target_id, details=details)
