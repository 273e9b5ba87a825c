"""factory_boy factories shared by every suite."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from apps.tenancy.models import Membership, Role, Site, SiteKind, Tenant, Vertical
from tests.support.device_keys import DeviceKey

DEFAULT_PASSWORD = "correct-horse-battery"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    vertical = Vertical.HOSPITALITY


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    location_id = factory.Sequence(lambda n: f"LOC-{n}")
    kind = SiteKind.HOTEL
    timezone = "Europe/Lisbon"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.STAFF


class DeviceFactory(factory.django.DjangoModelFactory):
    """An enrolled, active device with a real (but unused) public key."""

    class Meta:
        model = "devices.Device"

    site = factory.SubFactory(SiteFactory)
    tenant = factory.SelfAttribute("site.tenant")
    hardware_id = factory.Sequence(lambda n: f"hw-{n:06d}")
    name = factory.Sequence(lambda n: f"Device {n}")
    kind = "tablet"
    status = "active"
    public_key = factory.LazyFunction(lambda: DeviceKey().public_b64)
