import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.demo.seed import DEMO_PASSWORD, OPERATOR_TENANT_SLUG, OPERATOR_USERNAME, seed_demo


class Command(BaseCommand):
    help = ("Create (or refresh) the demo tenants, sites, users and setup tokens; print the logins and "
            "write the setup tokens to a file for the fleet simulator.")

    def add_arguments(self, parser):
        parser.add_argument("--tokens-file", default=str(Path(settings.BASE_DIR) / "var" / "demo_setup_tokens.json"),
                            help="Where to write the setup tokens (JSON) for `python -m agent_tools.simulator`.")

    def handle(self, *args, tokens_file, **options):
        seeded = seed_demo()
        self.stdout.write(f"operator (superuser): {OPERATOR_USERNAME} / {DEMO_PASSWORD}")
        self.stdout.write(f"platform alerts go to the tenant [{OPERATOR_TENANT_SLUG}] (TOCSIN_OPERATOR_TENANT)")
        for entry in seeded:
            self.stdout.write(f"{entry.tenant.name} [{entry.tenant.slug}] site {entry.site.location_id}")
            for username, role in entry.logins:
                self.stdout.write(f"    {role:<6} {username} / {DEMO_PASSWORD}")
        path = Path(tokens_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([entry.as_fleet_entry() for entry in seeded], indent=2))
        path.chmod(0o600)
        self.stdout.write(f"setup tokens for the demo fleet: {path}")
