from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from apps.audit.services import Actor
from apps.tenancy.models import Tenant
from workers.tenant_data import TenantHeld, tenant_erase


class Command(BaseCommand):
    help = ("Erase everything a tenant owns, its audit log included, leaving a tombstone in the platform "
            "audit chain. Export it first (tenant_export). Refused under a legal hold.")

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="The tenant's slug or public id.")
        parser.add_argument("--confirm", required=True, help="The tenant's slug again, to say you mean it.")

    def handle(self, *args, tenant, confirm, **options):
        found = Tenant.objects.filter(Q(slug=tenant) | Q(public_id=tenant)).first()
        if found is None:
            raise CommandError(f"No tenant with slug or id '{tenant}'.")
        if confirm != found.slug:
            raise CommandError(f"--confirm must repeat the tenant's slug ('{found.slug}'); nothing was erased.")
        try:
            counts = tenant_erase(tenant=found, actor=Actor.system("tenant_erase"))
        except TenantHeld as exc:
            raise CommandError(f"{exc}; release the hold first. Nothing was erased.") from exc
        self.stdout.write(f"Erased {sum(counts.values())} rows of {found.slug}; a tombstone is in the platform "
                          "audit chain.")
