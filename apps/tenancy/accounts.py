"""Self-service accounts: invite, change, deactivate and reactivate members; reset passwords.

Invariants:
- The role rules of `memberships.membership_check` hold for every change here (nobody grants
  a role above their own, nor changes someone who outranks them), from the API, the admin
  and commands alike, and each change is audited once (`config_changed`, no email address
  in the entry).
- An invitation link sets a password once: it is found by the SHA-256 of its secret, and
  used by one conditional UPDATE (unused, unrevoked, unexpired), so two submissions race
  in the database and one loses. Setting the password uses up every other open
  invitation of that person too.
- Deactivating a membership bumps the person's token version in the same transaction:
  their access and refresh tokens and browser sessions are refused on the next request.
  A person left with no active membership is also made inactive (cannot sign in); a
  superuser is never touched by a tenant's managers.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from apps.common.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.tenancy import account_emails
from apps.tenancy.memberships import membership_check
from apps.tenancy.models import Invitation, Membership, Site, Tenant
from apps.tenancy.services import _changed
from apps.tenancy.signals import membership_changed
from apps.tenancy.token_versions import token_version_bump

User = get_user_model()


@dataclass(frozen=True)
class InviteOutcome:
    membership: Membership
    invitation: Invitation | None  # None: the person already had a password and was only told


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _label(actor) -> str:
    return (actor.get_full_name() or actor.username) if actor is not None else "Tocsin's operators"


def _sites_checked(*, tenant: Tenant, all_sites: bool, sites) -> list[Site]:
    sites = list(sites or [])
    if any(site.tenant_id != tenant.pk for site in sites):
        raise ApplicationError("Those sites belong to another tenant.", fields={"sites": ["No such site."]})
    if not all_sites and not sites:
        raise ApplicationError("Choose the sites this person covers, or all sites.",
                               fields={"sites": ["Choose at least one site, or all sites."]})
    return [] if all_sites else sites


def _person_for(email: str) -> User | None:
    matches = list(User.objects.filter(email__iexact=email)[:2])
    if len(matches) > 1:
        raise ConflictError("Several accounts use this email address; add the person by username in the admin.",
                            code="email_ambiguous", fields={"email": ["Used by several accounts."]})
    if matches:
        return matches[0]
    if User.objects.filter(username__iexact=email).exists():
        raise ConflictError("An account with this username exists under another email address.",
                            code="email_ambiguous", fields={"email": ["Taken as a username."]})
    return None


def member_invite(*, tenant: Tenant, email: str, role: str, actor=None, all_sites: bool = True,
                  sites=()) -> InviteOutcome:
    """Make `email` a member with `role` and these sites, and mail them a set-password link
    (or, when they already have a password, a notice). A new person is created without a
    password, their username being the email address."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ApplicationError("Enter a valid email address.", fields={"email": ["Enter a valid email address."]}
                               ) from exc
    if len(email) > 150:
        raise ApplicationError("That email address is too long.", fields={"email": ["At most 150 characters."]})
    chosen = _sites_checked(tenant=tenant, all_sites=all_sites, sites=sites)
    with transaction.atomic():
        if actor is not None:
            list(Membership.objects.select_for_update().filter(tenant=tenant, user=actor))
        user = _person_for(email)
        # The role rules and the site rules (a site-scoped manager grants only sites they cover).
        membership_check(tenant=tenant, user=user or User(pk=None), role=role, actor=actor, all_sites=all_sites,
                         sites=chosen)
        if user is not None and Membership.everyone.filter(tenant=tenant, user=user).exists():
            raise ConflictError("This person is already a member (reactivate them if deactivated).",
                                code="already_member", fields={"email": ["Already a member."]})
        if user is None:
            user = User(username=email, email=email, is_staff=True)
            user.set_unusable_password()
            user.save()
        elif not user.is_staff or not user.is_active:
            User.objects.filter(pk=user.pk).update(is_staff=True, is_active=True)
        membership = Membership.everyone.create(tenant=tenant, user=user, role=role, all_sites=all_sites)
        membership.sites.set(chosen)
        membership_changed.send(sender=Membership, membership=membership, created=True, actor=actor)
        invitation = None
        if user.has_usable_password():
            account_emails.added_email_send(membership=membership, inviter_label=_label(actor))
        else:
            invitation = _invitation_issue(membership=membership, email=email, actor=actor)
    return InviteOutcome(membership=membership, invitation=invitation)


def _invitation_issue(*, membership: Membership, email: str, actor) -> Invitation:
    secret = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        tenant=membership.tenant, membership=membership, email=email, token_hash=_hash(secret),
        expires_at=timezone.now() + timedelta(hours=settings.TOCSIN_INVITE_TTL_HOURS),
        invited_by=actor if getattr(actor, "pk", None) else None)
    _changed(tenant=membership.tenant, actor=actor, action="membership.invited", target_type="user",
             target_id=str(membership.user_id), details={"invitation": invitation.public_id,
                                                         "role": membership.role})
    account_emails.invitation_email_send(invitation=invitation, secret=secret, inviter_label=_label(actor))
    return invitation


def invitation_resend(*, membership: Membership, actor=None) -> Invitation:
    """A new link for someone who never set a password; the earlier links stop working."""
    with transaction.atomic():
        membership_check(tenant=membership.tenant, user=membership.user, role=membership.role, actor=actor)
        if membership.user.has_usable_password():
            raise ConflictError("This person already set a password; send a password reset instead.",
                                code="already_accepted")
        Invitation.objects.filter(membership=membership, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        return _invitation_issue(membership=membership, email=membership.user.email, actor=actor)


def invitation_revoke(*, invitation: Invitation, actor=None) -> None:
    with transaction.atomic():
        membership_check(tenant=invitation.tenant, user=invitation.membership.user, role=None, actor=actor)
        if Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True, revoked_at__isnull=True).update(
                revoked_at=timezone.now()):
            _changed(tenant=invitation.tenant, actor=actor, action="membership.invitation_revoked",
                     target_type="user", target_id=str(invitation.membership.user_id),
                     details={"invitation": invitation.public_id})


def invitation_find(*, token: str) -> Invitation | None:
    """The open invitation this link stands for, or None (unknown, used, revoked, expired)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    return (Invitation.objects.select_related("tenant", "membership__user")
            .filter(token_hash=_hash(token), used_at__isnull=True, revoked_at__isnull=True,
                    expires_at__gt=timezone.now(), membership__is_active=True).first())


def invitation_accept(*, token: str, password: str):
    """Set the invited person's password with this link, once. Returns the user."""
    invitation = invitation_find(token=token)
    if invitation is None:
        raise NotFoundError("This invitation link has been used or has expired.", code="invitation_invalid")
    user = invitation.membership.user
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ApplicationError("Choose a stronger password.", fields={"password": list(exc.messages)}) from exc
    with transaction.atomic():
        now = timezone.now()
        if not Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True, revoked_at__isnull=True,
                                         expires_at__gt=now).update(used_at=now):
            raise NotFoundError("This invitation link has been used or has expired.", code="invitation_invalid")
        Invitation.objects.filter(membership__user=user, used_at__isnull=True).update(revoked_at=now)
        user.set_password(password)
        user.save(update_fields=["password"])
        token_version_bump(user=user)
        _changed(tenant=invitation.tenant, actor=user, action="membership.invitation_accepted",
                 target_type="user", target_id=str(user.pk), details={"invitation": invitation.public_id})
    return user


def member_change(*, membership: Membership, actor=None, role: str | None = None, all_sites: bool | None = None,
                  sites=None) -> Membership:
    """Change a member's role and/or sites (None: unchanged)."""
    with transaction.atomic():
        membership = Membership.everyone.select_for_update().select_related("tenant", "user").get(pk=membership.pk)
        new_role = role or membership.role
        new_all = membership.all_sites if all_sites is None else all_sites
        current = list(membership.sites.all())
        chosen = _sites_checked(tenant=membership.tenant, all_sites=new_all,
                                sites=current if sites is None else sites)
        membership_check(tenant=membership.tenant, user=membership.user, role=new_role, actor=actor,
                         all_sites=new_all, sites=chosen)
        fields = sorted(name for name, changed in (
            ("role", new_role != membership.role), ("all_sites", new_all != membership.all_sites),
            ("sites", {s.pk for s in chosen} != {s.pk for s in current})) if changed)
        if not fields:
            return membership
        Membership.everyone.filter(pk=membership.pk).update(role=new_role, all_sites=new_all)
        membership.sites.set(chosen)
        membership.refresh_from_db()
        membership_changed.send(sender=Membership, membership=membership, created=False, actor=actor)
        _changed(tenant=membership.tenant, actor=actor, action="membership.scope_changed", target_type="user",
                 target_id=str(membership.user_id),
                 details={"fields": fields, "all_sites": new_all, "sites": sorted(s.public_id for s in chosen)})
    return membership


def member_deactivate(*, membership: Membership, actor=None) -> Membership:
    """The person's tokens and sessions stop working now; the membership grants nothing."""
    with transaction.atomic():
        membership = Membership.everyone.select_for_update().select_related("tenant", "user").get(pk=membership.pk)
        if actor is not None and actor.pk == membership.user_id:
            raise ForbiddenError("You cannot deactivate yourself.", code="self_deactivation")
        membership_check(tenant=membership.tenant, user=membership.user, role=None, actor=actor)
        if not membership.is_active:
            return membership
        Membership.everyone.filter(pk=membership.pk).update(is_active=False, deactivated_at=timezone.now())
        Invitation.objects.filter(membership=membership, used_at__isnull=True).update(revoked_at=timezone.now())
        user = membership.user
        token_version_bump(user=user)
        if not user.is_superuser and not Membership.objects.filter(user=user).exists():
            User.objects.filter(pk=user.pk).update(is_active=False)
        _changed(tenant=membership.tenant, actor=actor, action="membership.deactivated", target_type="user",
                 target_id=str(user.pk), details={"role": membership.role})
    membership.refresh_from_db()
    return membership


def member_reactivate(*, membership: Membership, actor=None) -> Membership:
    with transaction.atomic():
        membership = Membership.everyone.select_for_update().select_related("tenant", "user").get(pk=membership.pk)
        membership_check(tenant=membership.tenant, user=membership.user, role=membership.role, actor=actor)
        if membership.is_active:
            return membership
        Membership.everyone.filter(pk=membership.pk).update(is_active=True, deactivated_at=None)
        User.objects.filter(pk=membership.user_id).update(is_active=True)
        _changed(tenant=membership.tenant, actor=actor, action="membership.reactivated", target_type="user",
                 target_id=str(membership.user_id), details={"role": membership.role})
    membership.refresh_from_db()
    return membership


def member_two_factor_reset(*, membership: Membership, actor=None) -> int:
    """A member lost their authenticator: remove it (they enrol a new one at their next
    sign-in where it is required) and end their sessions and tokens. Returns how many."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with transaction.atomic():
        membership_check(tenant=membership.tenant, user=membership.user, role=None, actor=actor)
        removed, _ = TOTPDevice.objects.filter(user=membership.user).delete()
        token_version_bump(user=membership.user)
        _changed(tenant=membership.tenant, actor=actor, action="membership.two_factor_reset", target_type="user",
                 target_id=str(membership.user_id), details={"removed": removed})
    return removed


def member_password_reset(*, membership: Membership, actor=None) -> str:
    """A manager sends a member a password-reset link (or a fresh invitation to someone who
    never set a password). Returns "reset_sent" or "invitation_sent"."""
    with transaction.atomic():
        membership_check(tenant=membership.tenant, user=membership.user, role=membership.role, actor=actor)
        if not membership.is_active:
            raise ConflictError("This member is deactivated.", code="member_deactivated")
        user = membership.user
        if not user.has_usable_password():
            invitation_resend(membership=membership, actor=actor)
            return "invitation_sent"
        if not user.email:
            raise ConflictError("This person has no email address.", code="no_email")
        account_emails.password_reset_email_send(user=user, requested_by=_label(actor))
        _changed(tenant=membership.tenant, actor=actor, action="membership.password_reset_sent",
                 target_type="user", target_id=str(user.pk))
    return "reset_sent"
