from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from apps.audit.selectors import verify_audit_log
from apps.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Walk the audit hash chains; exit non-zero naming the first broken entry of each."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Check one tenant (slug or public id); default: all.")

    def handle(self, *args, tenant=None, **options):
        selected = None
        if tenant:
            selected = Tenant.objects.filter(Q(slug=tenant) | Q(public_id=tenant)).first()
            if selected is None:
                raise CommandError(f"No tenant with slug or id '{tenant}'.")
        checked, breaks = verify_audit_log(tenant=selected)
        for found in breaks:
            self.stderr.write(
                f"BROKEN chain {found.tenant_label}: entry #{found.seq} ({found.public_id}) {found.reason}"
            )
        if breaks:
            raise CommandError(f"{len(breaks)} of {checked} audit chains are broken.")
        self.stdout.write(f"OK: {checked} audit chains verified.")
