import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.devices import qr
from apps.devices.setup_tokens import setup_token_create
from apps.tenancy.management.commands._lookup import site_from_arg, tenant_from_arg

_TTL = re.compile(r"^(\d+(?:\.\d+)?)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_ttl(text: str) -> timedelta:
    match = _TTL.match(text.strip())
    if not match:
        raise CommandError(f"--ttl '{text}' is not a duration like 30m, 24h or 7d.")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


class Command(BaseCommand):
    help = "Create a setup token for a site and print it with its QR code (shown only now)."

    def add_arguments(self, parser):
        parser.add_argument("--site", required=True, help="Site public id or location id.")
        parser.add_argument("--tenant", help="Tenant slug or id, when the location id is ambiguous.")
        parser.add_argument("--uses", type=int, default=1, help="How many devices it may enrol.")
        parser.add_argument("--ttl", default="24h", help="Lifetime: 30m, 24h, 7d (at most 30d).")
        parser.add_argument("--label", default="")
        parser.add_argument("--location-label", default="",
                            help="Where the device it enrols is, e.g. 'Room 305' (goes into the QR code).")
        parser.add_argument("--no-qr", action="store_true", help="Print the token without the QR code.")

    def handle(self, *args, **options):
        tenant = tenant_from_arg(options["tenant"]) if options["tenant"] else None
        site = site_from_arg(options["site"], tenant)
        try:
            issued = setup_token_create(site=site, actor=Actor.system("manage.py"), max_uses=options["uses"],
                                        ttl=parse_ttl(options["ttl"]), label=options["label"],
                                        location_label=options["location_label"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if not options["no_qr"]:
            self.stdout.write(qr.qr_terminal(issued.qr_payload))
        self.stdout.write(f"setup token: {issued.token}")
        self.stdout.write(f"qr payload:  {issued.qr_payload}")
        self.stdout.write(f"site {site.location_id} ({site.tenant.slug}), {issued.record.max_uses} use(s), "
                          f"expires {issued.record.expires_at:%Y-%m-%d %H:%M} UTC")
