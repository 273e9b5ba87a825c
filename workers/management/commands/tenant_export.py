from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from apps.audit.services import Actor
from apps.tenancy.models import Tenant
from workers.tenant_data import tenant_export


class Command(BaseCommand):
    help = "Export everything a tenant owns to a zip (one CSV per table, plus tenant.json). Audited."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="The tenant's slug or public id.")
        parser.add_argument("--output", required=True, help="Where to write the zip.")

    def handle(self, *args, tenant, output, **options):
        found = Tenant.objects.filter(Q(slug=tenant) | Q(public_id=tenant)).first()
        if found is None:
            raise CommandError(f"No tenant with slug or id '{tenant}'.")
        counts = tenant_export(tenant=found, target=output, actor=Actor.system("tenant_export"))
        self.stdout.write(f"Exported {sum(counts.values())} rows from {len(counts)} tables of {found.slug} "
                          f"to {output}.")
