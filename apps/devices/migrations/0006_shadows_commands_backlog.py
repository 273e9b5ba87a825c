"""Shadows, commands and backlog.

The server's rule state moves out of `reported_state` into `rule_state` (a column rename:
the data moves with it), and `reported_state` starts again, empty, as what the device
reports. Existing desired documents become version 1 with their keys stamped now; they
count as the baseline (no drift clock runs for them).
"""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

import apps.common.ids


def stamp_existing_desired(apps, schema_editor):
    Device = apps.get_model("devices", "Device")
    now = timezone.now().isoformat()
    for device in Device.objects.exclude(desired_state={}).only("pk", "desired_state").iterator():
        Device.objects.filter(pk=device.pk).update(
            shadow_version=1, shadow_metadata={"desired": {key: now for key in device.desired_state}, "reported": {}})


class Migration(migrations.Migration):

    dependencies = [
        ("devices", "0005_location_labels"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="device", old_name="reported_state", new_name="rule_state"),
        migrations.AddField(model_name="device", name="reported_state",
                            field=models.JSONField(blank=True, default=dict)),
        migrations.AddField(model_name="device", name="shadow_version",
                            field=models.PositiveBigIntegerField(default=0)),
        migrations.AddField(model_name="device", name="shadow_metadata",
                            field=models.JSONField(blank=True, default=dict)),
        migrations.AddField(model_name="device", name="shadow_pending_since", field=models.DateTimeField(
            blank=True, null=True, help_text="Since when desired and reported differ (null: converged).")),
        migrations.AddField(model_name="device", name="shadow_drift_at", field=models.DateTimeField(
            blank=True, null=True, help_text="When the drift alert was raised (null: none open).")),
        migrations.AddField(model_name="device", name="outbox_size",
                            field=models.PositiveIntegerField(blank=True, null=True)),
        migrations.AddField(model_name="device", name="outbox_oldest_age_s",
                            field=models.PositiveIntegerField(blank=True, null=True)),
        migrations.AddField(model_name="device", name="outbox_parked",
                            field=models.PositiveIntegerField(blank=True, null=True)),
        migrations.AddField(model_name="device", name="commands_waiting_since", field=models.DateTimeField(
            blank=True, editable=False, null=True,
            help_text="Set when a command is queued: the heartbeat looks for commands only then.")),
        migrations.RunPython(stamp_existing_desired, migrations.RunPython.noop),
        migrations.CreateModel(
            name="DeviceCommand",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("public_id", apps.common.ids.PublicIdField(editable=False, max_length=40, prefix="cmd", unique=True)),
                ("name", models.CharField(choices=[("flush", "Force a batch flush"),
                                                   ("reload_config", "Reload configuration"), ("reboot", "Reboot"),
                                                   ("rotate_key", "Rotate the device key"),
                                                   ("set_power_limit", "Set the plant power limit")],
                                          max_length=20)),
                ("params", models.JSONField(blank=True, default=dict)),
                ("status", models.CharField(choices=[("pending", "Pending"), ("delivered", "Delivered"),
                                                     ("acked", "Acknowledged"), ("failed", "Failed"),
                                                     ("expired", "Expired")], default="pending", max_length=10)),
                ("group", models.CharField(blank=True, help_text="Shared by the rows of one group command.",
                                           max_length=40)),
                ("result", models.JSONField(blank=True, default=dict)),
                ("created_by_label", models.CharField(blank=True, max_length=200)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField()),
                ("delivered_at", models.DateTimeField(blank=True, null=True)),
                ("delivered_via", models.CharField(blank=True, max_length=10)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("device", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="commands",
                                             to="devices.device")),
                ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                             to="tenancy.tenant")),
            ],
            options={
                "ordering": ["-created_at"],
                "indexes": [
                    models.Index(condition=models.Q(("status__in", ["pending", "delivered"])),
                                 fields=["device", "created_at"], name="command_open_per_device"),
                    models.Index(condition=models.Q(("status__in", ["pending", "delivered"])),
                                 fields=["expires_at"], name="command_open_expiry"),
                ],
            },
        ),
    ]
