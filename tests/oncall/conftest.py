"""People with contact methods, and rosters (the notification fixtures are the root conftest's)."""

from __future__ import annotations

from datetime import date, time

import pytest

from apps.oncall.contacts import contact_method_create, notification_rule_create
from apps.oncall.rosters import roster_save
from apps.tenancy.models import Role
from tests.factories import MembershipFactory, UserFactory
from tests.support.actors import ACTOR


@pytest.fixture
def make_person():
    counter = iter(range(10, 99))

    def _make(world, name, role=Role.STAFF, sms=True, email=True, email_after=5):
        user = UserFactory(username=name)
        MembershipFactory(tenant=world.tenant, user=user, role=role)
        n = next(counter)
        if sms:
            method = contact_method_create(tenant=world.tenant, user=user, kind="sms",
                                           address=f"+3519123456{n}", actor=ACTOR)
            notification_rule_create(method=method, delay_minutes=0, actor=ACTOR)
        if email:
            method = contact_method_create(tenant=world.tenant, user=user, kind="email",
                                           address=f"{name}@example.com", actor=ACTOR)
            notification_rule_create(method=method, delay_minutes=email_after, actor=ACTOR)
        return user

    return _make


@pytest.fixture
def make_roster():
    def _make(world, members, starts_on=date(2027, 10, 18), handover=time(9, 0), weekday=0, sites=None):
        return roster_save(tenant=world.tenant, actor=ACTOR, name="Night desk", members=members,
                           handover_time=handover, starts_on=starts_on, handover_weekday=weekday,
                           sites=[world.site] if sites is None else sites)

    return _make
