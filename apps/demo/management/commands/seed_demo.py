from django.core.management.base import BaseCommand

from apps.demo.seed import DEMO_PASSWORD, OPERATOR_USERNAME, seed_demo


class Command(BaseCommand):
    help = "Create (or refresh) the demo tenants, sites and users, and print their logins."

    def handle(self, *args, **options):
        seeded = seed_demo()
        self.stdout.write(f"operator (superuser): {OPERATOR_USERNAME} / {DEMO_PASSWORD}")
        for entry in seeded:
            self.stdout.write(f"{entry.tenant.name} [{entry.tenant.slug}] site {entry.site.location_id}")
            for username, role in entry.logins:
                self.stdout.write(f"    {role:<6} {username} / {DEMO_PASSWORD}")
