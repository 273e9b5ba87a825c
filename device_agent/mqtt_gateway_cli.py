"""The gateway-mode command line: `python -m device_agent.mqtt_gateway --broker ... --plant ...`.

Wires the MQTT gateway to its outbox, its reading source and what it does with the server's
commands and shadow (device_agent/gateway_commands.py), then polls the source until ^C.
"""

from __future__ import annotations

import time

from device_agent.gateway import CommandSource
from device_agent.gateway_commands import GatewayControl
from device_agent.mqtt_gateway import BrokerSettings, MqttGateway, queue_source_output
from device_agent.outbox import Outbox


def run(argv: list | None = None) -> int:
    """`python -m device_agent.mqtt_gateway --broker host:8883 --plant site_… --source 'cmd' ...`"""
    import argparse


    parser = argparse.ArgumentParser(prog="python -m device_agent.mqtt_gateway")
    parser.add_argument("--broker", required=True, help="host:port of the MQTT broker (TLS)")
    parser.add_argument(
        "--plant", required=True, help="the plant id the gateway was provisioned for"
    )
    parser.add_argument("--ca", required=True)
    parser.add_argument(
        "--cert", required=True, help="certificate followed by the tenant CA (cert.pem)"
    )
    parser.add_argument("--key", required=True)
    parser.add_argument("--outbox", required=True, help="path of the durable outbox (SQLite)")
    parser.add_argument(
        "--source", required=True, help="command printing the inverters' readings as JSON"
    )
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--power-limit-command", help="hook setting the inverters' limit")
    parser.add_argument("--reboot-command", help="hook asking the host's supervisor to reboot")
    args = parser.parse_args(argv)
    host, _, port = args.broker.rpartition(":")
    outbox = Outbox(args.outbox)
    gateway = MqttGateway(
        BrokerSettings(
            host=host,
            port=int(port),
            ca_file=args.ca,
            cert_file=args.cert,
            key_file=args.key,
            plant_id=args.plant,
        ),
        outbox,
    )
    control = GatewayControl(gateway, interval=args.interval,
                             power_limit_command=args.power_limit_command,
                             reboot_command=args.reboot_command)
    gateway.on_command, gateway.on_delta = control.on_command, control.on_delta
    gateway.start()
    source = CommandSource(args.source)
    try:
        while True:
            text = source.read()
            if text and queue_source_output(outbox, args.plant, text, time.time()):
                gateway.notify()
            time.sleep(control.interval)
    except KeyboardInterrupt:
        gateway.stop()
        gateway.join(timeout=10)
    return 0
