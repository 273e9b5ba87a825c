import socket

from django.core.management.base import BaseCommand, CommandError

from apps.iot import broker
from apps.iot.bridge import Bridge


class Command(BaseCommand):
    help = ("Run the MQTT bridge: plant readings from the broker's shared subscription into Tocsin, "
            "acknowledged after commit. Run several (distinct --client-id) to split the load.")

    def add_arguments(self, parser):
        parser.add_argument("--client-id", default=f"tocsin-bridge-{socket.gethostname()}"[:60],
                            help="Stable per bridge process: the broker keeps its session (and backlog) under it.")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--batch-wait-ms", type=int, default=None)
        parser.add_argument("--retire", action="store_true",
                            help="Scale down: store what the broker queued for this --client-id, end its session.")
        parser.add_argument("--shared", choices=["yes", "no"], default=None,
                            help="Override MQTT_BRIDGE_SHARED: the shared subscription, or a plain one (one bridge).")

    def handle(self, *args, **options):
        if not broker.mqtt_enabled():
            raise CommandError("MQTT_URL is not set: plants over MQTT are off, there is nothing to bridge.")
        bridge = Bridge(client_id=options["client_id"], batch_size=options["batch_size"],
                        batch_wait_ms=options["batch_wait_ms"],
                        shared=None if options["shared"] is None else options["shared"] == "yes",
                        retire=options["retire"])
        if options["retire"]:
            drained = bridge.retire_session()
            self.stdout.write(f"mqtt bridge {options['client_id']} retired; {drained} queued message(s) stored")
            return
        bridge.install_signal_handlers()
        self.stdout.write(f"mqtt bridge {options['client_id']} starting on {broker.broker_address()}")
        self.stdout.flush()
        bridge.run()
