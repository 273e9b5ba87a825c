from django.core.management.base import BaseCommand, CommandError

from apps.common.errors import ApplicationError
from apps.tenancy import services
from apps.tenancy.management.commands._lookup import tenant_from_arg
from apps.tenancy.models import SiteKind


class Command(BaseCommand):
    help = "Create a site (hotel, store or plant) for a tenant."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug or public id.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--location-id", required=True, help="Short code, unique in the tenant.")
        parser.add_argument("--kind", required=True, choices=SiteKind.values)
        parser.add_argument("--timezone", default="UTC", help="IANA name, e.g. Europe/Lisbon.")
        parser.add_argument("--address", default="")

    def handle(self, *args, **options):
        tenant = tenant_from_arg(options["tenant"])
        try:
            site = services.site_create(
                tenant=tenant, name=options["name"], location_id=options["location_id"],
                kind=options["kind"], timezone=options["timezone"], address=options["address"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except Exception as exc:  # model validation (e.g. an unknown timezone)
            messages = getattr(exc, "messages", None)
            if messages:
                raise CommandError("; ".join(messages)) from exc
            raise
        self.stdout.write(f"created site {site.location_id} ({site.public_id}) in {tenant.slug}")
