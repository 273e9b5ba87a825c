from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import Actor
from apps.iot import broker, provisioning


class Command(BaseCommand):
    help = ("Provision a gateway for every plant created before MQTT (server-made keys, downloadable once "
            "from the admin or the API); reports each plant.")

    def handle(self, *args, **options):
        if not broker.mqtt_enabled():
            raise CommandError("MQTT_URL is not set: plants over MQTT are off.")
        outcome = provisioning.existing_plants_provision(actor=Actor.system("provision_existing_plants"),
                                                     report=self.stdout.write)
        self.stdout.write(", ".join(f"{count} {name}" for name, count in outcome.items()))
