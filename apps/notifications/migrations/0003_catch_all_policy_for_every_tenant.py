"""Every tenant gets the catch-all policy new tenants are created with (see defaults.py)."""

from django.db import migrations

CATCH_ALL_NAME = "Catch-all: owners and admins"
MANAGERS_CHANNEL_NAME = "Owners and admins (email)"


def add_catch_all_policies(apps, schema_editor):
    Tenant = apps.get_model("tenancy", "Tenant")
    Channel = apps.get_model("notifications", "Channel")
    EscalationPolicy = apps.get_model("notifications", "EscalationPolicy")
    EscalationStep = apps.get_model("notifications", "EscalationStep")
    for tenant in Tenant.objects.exclude(pk__in=EscalationPolicy.objects.filter(is_catch_all=True)
                                         .values("tenant_id")):
        channel = (Channel.objects.filter(tenant=tenant, kind="managers").order_by("pk").first()
                   or Channel.objects.create(tenant=tenant, name=MANAGERS_CHANNEL_NAME, kind="managers", target=""))
        policy = EscalationPolicy.objects.create(tenant=tenant, name=CATCH_ALL_NAME, priority=1000,
                                                 is_catch_all=True, kinds=[], severities=[])
        step = EscalationStep.objects.create(tenant=tenant, policy=policy, order=0, delay_minutes=0)
        step.channels.set([channel])


class Migration(migrations.Migration):

    dependencies = [("notifications", "0002_paging_cycles_and_catch_all")]

    operations = [migrations.RunPython(add_catch_all_policies, migrations.RunPython.noop)]
