from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from apps.audit.services import Actor
from apps.devices.models import Device
from apps.devices.services import device_readmit


class Command(BaseCommand):
    help = ("Re-admit a device: its next enrolment (or legacy registration) may re-key it without its "
            "current key, and a revoked device may come back. Audited.")

    def add_arguments(self, parser):
        parser.add_argument("device", help="Device public id or hardware id.")
        parser.add_argument("--reason", required=True, help="Why (kept in the audit log).")

    def handle(self, *args, device, reason, **options):
        found = (Device.objects.select_related("tenant").filter(Q(public_id=device) | Q(hardware_id=device))
                 .order_by().first())
        if found is None:
            raise CommandError(f"No device with id or hardware id '{device}'.")
        if not reason.strip():
            raise CommandError("Say why the device is re-admitted (--reason).")
        found = device_readmit(device=found, actor=Actor.system("manage.py"), reason=reason)
        self.stdout.write(f"re-admitted {found.public_id} ({found.hardware_id}) of {found.tenant.slug} until "
                          f"{found.readmit_until:%Y-%m-%d %H:%M} UTC ({settings.TOCSIN_READMIT_TTL_HOURS} h): "
                          f"its next enrolment re-keys it")
