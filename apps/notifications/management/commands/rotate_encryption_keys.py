from django.core.management.base import BaseCommand

from apps.common.crypto import registered_rotators
from apps.notifications.channels import channel_secrets_rotate


class Command(BaseCommand):
    help = ("Re-encrypt every stored secret under the first key of TOCSIN_ENCRYPTION_KEYS. Add the new key "
            "first in the list, run this, then drop the old key.")

    def handle(self, *args, **options):
        self.stdout.write(f"re-encrypted {channel_secrets_rotate()} channel secret(s)")
        for name, rotate in registered_rotators().items():
            self.stdout.write(f"re-encrypted {rotate()} {name}")
