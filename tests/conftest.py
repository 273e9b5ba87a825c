"""Shared fixtures: tenants with members, and API clients that act as them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from apps.tenancy.models import Role
from tests.factories import MembershipFactory, SiteFactory, TenantFactory, UserFactory


@dataclass
class TenantWorld:
    """One tenant with a site and a user for each role."""

    tenant: object
    site: object
    owner: object
    admin: object
    staff: object
    viewer: object


def _make_world(**tenant_kwargs) -> TenantWorld:
    tenant = TenantFactory(**tenant_kwargs)
    site = SiteFactory(tenant=tenant)
    users = {}
    for role in (Role.OWNER, Role.ADMIN, Role.STAFF, Role.VIEWER):
        users[role] = MembershipFactory(tenant=tenant, role=role).user
    return TenantWorld(tenant=tenant, site=site, owner=users[Role.OWNER], admin=users[Role.ADMIN],
                       staff=users[Role.STAFF], viewer=users[Role.VIEWER])


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's deliberate slowness buys nothing in tests and costs minutes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_targets_allowed(settings):
    """The provider stand-ins listen on 127.0.0.1, which production refuses to send to; the
    SSRF tests (tests/notifications/test_outgoing_guard.py) turn this off again."""
    settings.TOCSIN_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def make_world(db):
    return _make_world


@pytest.fixture
def world_a(db) -> TenantWorld:
    return _make_world(name="Tenant A", slug="tenant-a")


@pytest.fixture
def world_b(db) -> TenantWorld:
    return _make_world(name="Tenant B", slug="tenant-b")


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for():
    """`client_for(user)` → an APIClient authenticated as that user (forced auth)."""

    def _client(user, tenant=None) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=user)
        if tenant is not None:
            client.credentials(HTTP_X_TENANT=tenant.public_id)
        return client

    return _client


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True)


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real Celery worker on the test database; stopped after the test."""
    from tests.support.processes import WorkerProcess

    started: list[WorkerProcess] = []

    def _start(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(tmp_path / f"worker-{len(started)}.log", **kwargs).start()
        started.append(worker)
        return worker

    yield _start
    for worker in started:
        worker.stop()


@pytest.fixture
def issue_setup_token():
    """`issue_setup_token(site, **kwargs)` → the raw token string."""
    from apps.audit.services import Actor
    from apps.devices.setup_tokens import setup_token_create

    def _issue(site, **kwargs) -> str:
        return setup_token_create(site=site, actor=Actor.system("test"), **kwargs).token

    return _issue


@pytest.fixture(autouse=True)
def _isolated_rate_limits(settings):
    """Each test counts rate limits from zero: the windows live in Redis under a fresh prefix."""
    import uuid

    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"],
                                                      "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"}}


@pytest.fixture(autouse=True)
def _closed_redis_breakers():
    """A test that stopped a Redis must not leave the next test's callers failing fast."""
    from apps.common.redis_guard import reset_breakers

    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def device_client(db):
    """`device_client(site, kind=..., **device_fields)` → (device, APIClient holding its token)."""
    from apps.devices.device_tokens import issue_device_token
    from tests.factories import DeviceFactory

    def _make(site, **fields):
        device = DeviceFactory(site=site, **fields)
        access, _ = issue_device_token(device)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        return device, client

    return _make


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs the block's after-commit hooks at its end, as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


# Fixtures shared by several suites are registered here, once; a suite's conftest never
# imports another's (plain helpers are imported from tests/support/ modules).
from tests.support.network_tripwire import *  # noqa: E402,F403  (SSRF tests: fake DNS, no packet off loopback)
from tests.support.notification_fixtures import *  # noqa: E402,F403  (channels, policies, alerts, real providers)
from tests.support.sites import harbour  # noqa: E402,F401  (Lisbon and Porto: per-site access)
from tests.support.standin_fixtures import *  # noqa: E402,F403  (provider stand-ins: twilio, slack, smtp, webhook)
