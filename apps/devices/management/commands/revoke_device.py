from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from apps.audit.services import Actor
from apps.devices.models import Device, DeviceStatus
from apps.devices.services import device_revoke


class Command(BaseCommand):
    help = "Revoke a device: its tokens stop working on their next use."

    def add_arguments(self, parser):
        parser.add_argument("device", help="Device public id or hardware id.")
        parser.add_argument("--reason", default="", help="Why (kept in the audit log).")

    def handle(self, *args, device, reason, **options):
        found = Device.objects.select_related("tenant").filter(Q(public_id=device) | Q(hardware_id=device)).first()
        if found is None:
            raise CommandError(f"No device with id or hardware id '{device}'.")
        if found.status == DeviceStatus.REVOKED:
            self.stdout.write(f"{found.public_id} was already revoked.")
            return
        device_revoke(device=found, actor=Actor.system("manage.py"), reason=reason)
        self.stdout.write(f"revoked {found.public_id} ({found.hardware_id}) of {found.tenant.slug}")
