"""schemathesis against the OpenAPI schema: no generated request may get a 5xx.

Invariant: for every documented operation, as each kind of caller that uses it (a tenant
admin, an integration's API key, an enrolled device), schemathesis's valid and invalid
examples answer below 500, and every 4xx is a JSON error in the house shape. Examples
are bounded and derandomised, so `make test` stays within a couple of minutes on two
cores and a failure shows again on the next run.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.config import SchemathesisConfig

from apps.alerts.services import alert_raise
from apps.audit.models import AuditEntry
from apps.audit.services import Actor
from apps.devices.api_keys import api_key_create
from apps.devices.device_tokens import issue_device_token
from apps.devices.setup_tokens import setup_token_create
from apps.notifications.channels import channel_create
from apps.notifications.models import Notification
from apps.notifications.policies import policy_save
from apps.tenancy.models import Role
from tests.factories import DeviceFactory, MembershipFactory, SiteFactory, TenantFactory

pytestmark = pytest.mark.django_db

# Operations a device calls with its own token (or, for enrolment and legacy registration,
# with a setup token in the body); everything else is called by people and integrations.
DEVICE_PATHS = re.compile(r"^/api/v1/(heartbeats|scans/batch|telemetry|device-alerts)/$"
                          r"|^/api/v1/devices/(me|enroll|enroll/complete|challenge|token)/$"
                          r"|^/api/(heartbeat|alert/breach|alert/battery|devices/register)$")

FUZZ = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
# The coverage phase sends one request per enum value: keep this many of each enum (the
# 600 timezone names would otherwise cost more than the rest of the schema together).
ENUM_VALUES_KEPT = 4


def _fewer_enum_values(node):
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            node["enum"] = node["enum"][:ENUM_VALUES_KEPT]
        for value in node.values():
            _fewer_enum_values(value)
    elif isinstance(node, list):
        for value in node:
            _fewer_enum_values(value)
    return node


def _schema(*, coverage: bool):
    """The schema the API serves, with boundary-value examples (the coverage phase) or
    without; methods the schema doesn't list are left out (they answer 405 by routing)."""
    raw = _fewer_enum_values(SchemaGenerator().get_schema(request=None, public=True))
    config = SchemathesisConfig.from_dict(
        {"phases": {"coverage": {"enabled": coverage, "unexpected-methods": []}}})
    loaded = schemathesis.openapi.from_dict(raw, config=config)
    loaded.app = _application
    return loaded


_application = get_wsgi_application()


def _is_device_operation(ctx) -> bool:
    return bool(DEVICE_PATHS.match(ctx.operation.path))


def _is_api_key_operation(ctx) -> bool:
    """An integration reads, and raises alerts through the events API."""
    operation = ctx.operation
    return not _is_device_operation(ctx) and (operation.method.upper() == "GET" or operation.path == "/api/v1/events/")


# People and devices get boundary values too; an API key's reads are the people's reads
# under another credential, so generated examples suffice there.
people_schema = _schema(coverage=True).include(lambda ctx: not _is_device_operation(ctx))
device_schema = _schema(coverage=True).include(_is_device_operation)
api_key_schema = _schema(coverage=False).include(_is_api_key_operation)


@pytest.fixture
def world(settings):
    """One tenant with a site, an admin, an enrolled device, an API key, an email channel
    (delivered by the console backend: nothing leaves the machine), a policy paging it, an
    open alert with its delivery and audit entries, so that generated requests can also
    name objects that exist."""
    settings.TOCSIN_RATE_LIMITS = {key: "100000/min" for key in settings.TOCSIN_RATE_LIMITS}
    tenant = TenantFactory()
    site = SiteFactory(tenant=tenant)
    admin = MembershipFactory(tenant=tenant, role=Role.ADMIN).user
    device = DeviceFactory(site=site)
    actor = Actor.system("schema-test")
    key = api_key_create(tenant=tenant, name="fuzz", scopes=["read", "write_events"], actor=actor)
    token = setup_token_create(site=site, actor=actor, max_uses=1000)
    channel = channel_create(tenant=tenant, name="fuzz", kind="email", target="oncall@example.com", actor=actor)
    policy = policy_save(tenant=tenant, actor=actor, name="fuzz", steps=[{"delay_minutes": 0, "channels": [channel]}])
    alert = alert_raise(tenant=tenant, kind="external", dedup_key="ext:fuzz", severity="warning",
                        summary="fuzz", source="external", site=site, actor=actor).alert
    ids = {"site": site.public_id, "device": device.public_id, "api-key": key.record.public_id,
           "setup-token": token.record.public_id, "alert": alert.public_id, "tenant": tenant.public_id,
           "channel": channel.public_id, "policy": policy.public_id,
           "notification": Notification.objects.get(alert=alert).public_id,
           "audit": AuditEntry.objects.filter(tenant=tenant).first().public_id}
    return {
        "admin": {"Authorization": f"Bearer {RefreshToken.for_user(admin).access_token}"},
        "api_key": {"X-Api-Key": key.key},
        "device": {"Authorization": f"Bearer {issue_device_token(device)[0]}"},
        "ids": ids,
    }


@pytest.fixture(autouse=True)
def _requests_keep_the_test_transaction():
    """Django closes the connection around each WSGI request; the test client does not,
    and neither may these calls, or the test's transaction would be lost."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


_ID_FOR_PATH = (("/sites/", "site"), ("/devices/", "device"), ("/api-keys/", "api-key"),
                ("/setup-tokens/", "setup-token"), ("/alerts/", "alert"), ("/tenants/", "tenant"),
                ("/channels/", "channel"), ("/escalation-policies/", "policy"), ("/notifications/", "notification"),
                ("/audit/", "audit"))


def _call(case, headers: dict[str, str], ids: dict[str, str]):
    if "public_id" in (case.path_parameters or {}):
        for fragment, name in _ID_FOR_PATH:
            if case.path.startswith(f"/api/v1{fragment}"):
                case.path_parameters["public_id"] = ids[name]
    # Each request in its own savepoint, as in production each has its own transaction:
    # one refused statement must not poison the requests after it.
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers=headers)
    finally:
        transaction.savepoint_rollback(savepoint)
    answer = f"{case.method} {case.formatted_path} answered {response.status_code}: {response.text[:500]}"
    assert response.status_code < 500, answer
    if response.status_code >= 400:  # a clear error, in the house shape, never an HTML page
        assert response.headers.get("content-type", [""])[0].startswith("application/json"), answer
        assert set(response.json()["error"]) >= {"code", "message"}, answer


@people_schema.parametrize()
@FUZZ
def test_people_operations_never_answer_5xx(case, world):
    _call(case, world["admin"], world["ids"])


@api_key_schema.parametrize()
@FUZZ
def test_api_key_operations_never_answer_5xx(case, world):
    _call(case, world["api_key"], world["ids"])


@device_schema.parametrize()
@FUZZ
def test_device_operations_never_answer_5xx(case, world):
    _call(case, world["device"], world["ids"])
