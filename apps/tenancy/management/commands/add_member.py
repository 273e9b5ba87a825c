import getpass

from django.core.management.base import BaseCommand, CommandError

from apps.common.errors import ApplicationError
from apps.tenancy import memberships
from apps.tenancy.management.commands._lookup import site_from_arg, tenant_from_arg
from apps.tenancy.models import Role


class Command(BaseCommand):
    help = "Add a user to a tenant with a role, creating the user if needed."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug or public id.")
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--role", default=Role.STAFF, choices=Role.values)
        parser.add_argument("--site", action="append", default=[], dest="sites",
                            help="Limit the membership to this site (public or location id); repeat for several. "
                                 "Without it the membership keeps its sites (a new one: every site).")
        parser.add_argument("--all-sites", action="store_true", help="Cover every site of the tenant.")
        parser.add_argument(
            "--password-stdin", action="store_true",
            help="Read the new user's password from standard input (never from argv).",
        )

    def handle(self, *args, **options):
        tenant = tenant_from_arg(options["tenant"])
        if options["all_sites"] and options["sites"]:
            raise CommandError("Pass either --all-sites or --site, not both.")
        sites = [site_from_arg(reference, tenant) for reference in options["sites"]] or None
        password = None
        if options["password_stdin"]:
            password = getpass.getpass("Password: ") if self.stdin_is_tty() else input().strip()
            if len(password) < 8:
                raise CommandError("The password must have at least 8 characters.")
        user, created = memberships.user_get_or_create(
            username=options["username"], email=options["email"], password=password
        )
        try:
            membership = memberships.membership_set(tenant=tenant, user=user, role=options["role"], sites=sites,
                                                 all_sites=True if options["all_sites"] else None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        state = "created user" if created else "existing user"
        where = "every site" if membership.all_sites else ", ".join(
            membership.sites.order_by("name").values_list("location_id", flat=True))
        self.stdout.write(f"{state} {user.username} is {options['role']} of {tenant.slug} ({where})")

    @staticmethod
    def stdin_is_tty() -> bool:
        import sys

        return sys.stdin.isatty()
