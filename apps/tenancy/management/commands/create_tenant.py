from django.core.management.base import BaseCommand, CommandError

from apps.common.errors import ApplicationError
from apps.tenancy import services
from apps.tenancy.models import Vertical


class Command(BaseCommand):
    help = "Create a tenant (a customer organisation)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--vertical", required=True, choices=Vertical.values)
        parser.add_argument("--slug", help="URL-safe short name; derived from the name if omitted.")

    def handle(self, *args, name, vertical, slug=None, **options):
        try:
            tenant = services.tenant_create(name=name, vertical=vertical, slug=slug)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"created tenant {tenant.slug} ({tenant.public_id})")
