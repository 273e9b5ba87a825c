import getpass

from django.core.management.base import BaseCommand, CommandError

from apps.tenancy import services
from apps.tenancy.management.commands._lookup import tenant_from_arg
from apps.tenancy.models import Role


class Command(BaseCommand):
    help = "Add a user to a tenant with a role, creating the user if needed."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug or public id.")
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--role", default=Role.STAFF, choices=Role.values)
        parser.add_argument(
            "--password-stdin", action="store_true",
            help="Read the new user's password from standard input (never from argv).",
        )

    def handle(self, *args, **options):
        tenant = tenant_from_arg(options["tenant"])
        password = None
        if options["password_stdin"]:
            password = getpass.getpass("Password: ") if self.stdin_is_tty() else input().strip()
            if len(password) < 8:
                raise CommandError("The password must have at least 8 characters.")
        user, created = services.user_get_or_create(
            username=options["username"], email=options["email"], password=password
        )
        services.membership_set(tenant=tenant, user=user, role=options["role"])
        state = "created user" if created else "existing user"
        self.stdout.write(f"{state} {user.username} is {options['role']} of {tenant.slug}")

    @staticmethod
    def stdin_is_tty() -> bool:
        import sys

        return sys.stdin.isatty()
