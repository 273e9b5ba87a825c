from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.iot import broker


class Command(BaseCommand):
    help = ("Write a Mosquitto 2 config for Tocsin's gateways (CA, server certificate, CRL, dynamic-security "
            "state from the database) into --dir; `make run`, the tests and compose start the broker from it.")

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=Path(settings.MQTT_BROKER_DIR))
        parser.add_argument("--port", type=int, default=8883)
        parser.add_argument("--bind", default="127.0.0.1")
        parser.add_argument("--host", action="append", default=None,
                            help="A name or address for the server certificate (repeatable).")
        parser.add_argument("--plugin", default=None, help="Path of mosquitto_dynamic_security.so.")
        parser.add_argument("--user", default=None, help="The user Mosquitto runs as (default: this one).")

    def handle(self, *args, **options):
        try:
            config = broker.write_broker_files(directory=options["dir"], port=options["port"], bind=options["bind"],
                                               hosts=options["host"], plugin_path=options["plugin"],
                                               user=options["user"])
        except broker.BrokerError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(config))
