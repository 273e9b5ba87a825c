"""Failed logins are limited per account too (issue 13): ten failures from ten addresses
lock the account for the window, audited, and the lock looks the same for any name."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.audit.models import AuditEntry
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/token/"


def _login(username: str, password: str, address: str):
    return APIClient(REMOTE_ADDR=address).post(LOGIN, {"username": username, "password": password}, format="json")


def test_the_11th_failed_login_from_11_addresses_is_refused(world_a):
    account = world_a.admin.username
    for n in range(10):
        assert _login(account, "wrong-guess", f"10.0.0.{n + 1}").status_code == 401
    locked = _login(account, DEFAULT_PASSWORD, "10.0.0.11")  # even the right password, from a new address
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "throttled"
    assert 1 <= int(locked["Retry-After"]) <= 900
    admin_form = Client(REMOTE_ADDR="10.0.0.12").post("/admin/login/", {"username": account,
                                                                         "password": DEFAULT_PASSWORD})
    assert admin_form.status_code == 429 and admin_form.json() == {**locked.json()}
    assert not Client(REMOTE_ADDR="10.0.0.13").login(username=account, password=DEFAULT_PASSWORD)  # any path

    assert _login(world_a.staff.username, DEFAULT_PASSWORD, "10.0.0.11").status_code == 200  # others unaffected
    entry = AuditEntry.objects.get(tenant=world_a.tenant, action="user.login_locked")
    assert entry.target_id == str(world_a.admin.pk) and entry.details == {"seconds": 900}
    assert account not in str(entry.details)


def test_a_lockout_does_not_reveal_whether_the_account_exists(world_a):
    answers = {}
    for name in (world_a.viewer.username, "nobody-by-this-name"):
        for n in range(10):
            assert _login(name, "wrong-guess", f"10.1.0.{n + 1}").status_code == 401
        locked = _login(name, "wrong-guess", "10.1.0.99")
        answers[name] = (locked.status_code, locked.json())
    assert answers[world_a.viewer.username] == answers["nobody-by-this-name"]
    assert answers["nobody-by-this-name"][0] == 429
    unknown = AuditEntry.objects.get(tenant=None, action="user.login_locked")
    assert "nobody-by-this-name" not in str(unknown.details) and unknown.target_id == ""


def test_logins_are_still_limited_per_address(world_a, settings):
    settings.TOCSIN_RATE_LIMITS = {**settings.TOCSIN_RATE_LIMITS, "login": "3/min"}
    if time.time() % 60 > 50:  # fixed windows: don't let the burst straddle a minute boundary
        time.sleep(60 - time.time() % 60 + 0.1)
    for name in ("a", "b", "c"):
        assert _login(name, "x", "10.2.0.1").status_code == 401
    refused = _login(world_a.admin.username, DEFAULT_PASSWORD, "10.2.0.1")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert _login(world_a.admin.username, DEFAULT_PASSWORD, "10.2.0.2").status_code == 200


def test_the_admin_login_form_is_limited_per_address_too(world_a, settings):
    settings.TOCSIN_RATE_LIMITS = {**settings.TOCSIN_RATE_LIMITS, "login": "2/min"}
    if time.time() % 60 > 50:
        time.sleep(60 - time.time() % 60 + 0.1)
    browser = Client(REMOTE_ADDR="10.3.0.1")
    for name in ("a", "b"):
        assert browser.post("/admin/login/", {"username": name, "password": "x"}).status_code == 200  # form again
    refused = browser.post("/admin/login/", {"username": world_a.admin.username, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    fresh = Client(REMOTE_ADDR="10.3.0.2").post("/admin/login/", {"username": world_a.admin.username,
                                                                  "password": DEFAULT_PASSWORD})
    assert fresh.status_code == 302
