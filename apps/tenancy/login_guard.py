"""Limits on logins: per client address (`LoginRateThrottle`, apps.common.throttling), and
per account whatever the address (here).

An account is locked after TOCSIN_LOGIN_LOCKOUT_FAILURES failed logins within
TOCSIN_LOGIN_LOCKOUT_SECONDS (counted from the first), until that window ends, so
guessing one account's password from many addresses is bounded too. The lock answers
the same for every name, enrolled or not, and never says whether the account exists.
Both limits fail closed: while Redis is unreachable, nobody logs in (503), rather than
everybody being allowed unlimited guesses.

The per-account check sits in the authentication backend, so every path that logs a
person in (the API's token endpoint, the admin's login form) is covered; the API view
checks first as well to answer 429 or 503 instead of a plain failed login.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from rest_framework.exceptions import Throttled

from apps.common import throttling
from apps.tenancy.signals import login_locked_out

logger = logging.getLogger(__name__)


class AccountLocked(Throttled):
    """429 with `Retry-After`; the message carries no count, so it is the same for every name."""

    default_detail = "Too many failed logins; try again later."

    def __init__(self, wait: int):
        super().__init__()
        self.wait = wait


def _account_key(username: str) -> str:
    """The counter's key: a keyed hash, so Redis never holds the name someone typed."""
    digest = hmac.new(settings.SECRET_KEY.encode(), username.strip().casefold().encode(), hashlib.sha256)
    return f"login-failures:{digest.hexdigest()[:32]}"


def login_lockout_check(*, username: str) -> None:
    """Raise AccountLocked while the account is locked, RateLimitUnavailable if unknowable."""
    try:
        failures, remaining = throttling.current(_account_key(username),
                                                 default_ttl=settings.TOCSIN_LOGIN_LOCKOUT_SECONDS)
    except Exception as exc:
        logger.error("login limit store unavailable; login refused")
        raise throttling.RateLimitUnavailable() from exc
    if failures >= settings.TOCSIN_LOGIN_LOCKOUT_FAILURES:
        raise AccountLocked(wait=remaining)


def login_failure_record(*, username: str) -> None:
    """Count a failed login; the one that reaches the limit locks the account (audited)."""
    try:
        failures = throttling.count(_account_key(username), settings.TOCSIN_LOGIN_LOCKOUT_SECONDS)
    except Exception:
        logger.warning("login limit store unavailable; failed login not counted")
        return
    if failures == settings.TOCSIN_LOGIN_LOCKOUT_FAILURES:
        logger.warning("account locked after repeated failed logins")
        login_locked_out.send(sender=LockoutModelBackend, username=username,
                              seconds=settings.TOCSIN_LOGIN_LOCKOUT_SECONDS)


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = (credentials or {}).get(get_user_model().USERNAME_FIELD)
    if isinstance(username, str) and username:
        login_failure_record(username=username)


class LockoutModelBackend(ModelBackend):
    """Django's ModelBackend, refusing a locked account (or any, while the lock is
    unknowable) before the password is even checked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        name = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if isinstance(name, str) and name:
            try:
                login_lockout_check(username=name)
            except (AccountLocked, throttling.RateLimitUnavailable) as exc:
                raise PermissionDenied from exc
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        """The session's person, with their token version (apps/tenancy/token_versions.py) in one query."""
        user = get_user_model()._default_manager.select_related("security").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
