"""Tocsin's side of the Mosquitto broker: its files, its reload, and its control channel.

Invariant: the broker enforces who may connect and what each client may touch. Connecting
needs a client certificate that chains to Tocsin's root and is not on the CRL
(`require_certificate`, `crlfile`); the certificate's common name becomes the MQTT username
(`use_identity_as_username`), and Mosquitto's dynamic-security plugin holds one client and
one role per gateway with its plant's topics only. Tocsin changes that state over the
plugin's `$CONTROL/dynamic-security/v1` topic (apps/iot/broker_control.py), so a change
applies at once (a deleted client is disconnected on the spot) and works against a broker
on another host. This module holds what the broker is configured with: its address, the
topics and ACLs, its files, and the CRL it reloads.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from apps.iot import authority, pki

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
CONTROL_RESPONSE_TOPIC = "$CONTROL/dynamic-security/v1/response"
SHARED_SUBSCRIPTION = "$share/tocsin/solar/+/data"
EXCLUSIVE_SUBSCRIPTION = "solar/+/data"
# Gateways' command acks and shadow reports, which the bridge applies (apps/iot/control.py).
CONTROL_TOPICS = ("solar/+/commands/ack", "solar/+/shadow/reported")
SHARED_CONTROL_SUBSCRIPTIONS = tuple(f"$share/tocsin/{topic}" for topic in CONTROL_TOPICS)
BRIDGE_ROLE, CONTROL_ROLE = "bridge", "control"
DYNSEC_PLUGIN_PATHS = ("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
                       "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
                       "/usr/lib/mosquitto_dynamic_security.so")


class BrokerError(RuntimeError):
    """The broker could not be reached or refused a control command."""


class MqttNotConfigured(BrokerError):
    """MQTT_URL is empty: plants work over REST only."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int


def broker_address() -> BrokerAddress:
    if not settings.MQTT_URL:
        raise MqttNotConfigured("MQTT_URL is not set: plants over MQTT are off.")
    parts = urlsplit(settings.MQTT_URL)
    if parts.scheme != "mqtts" or not parts.hostname:
        raise BrokerError("MQTT_URL must look like mqtts://host:8883 (TLS with client certificates).")
    return BrokerAddress(parts.hostname, parts.port or 8883)


def mqtt_enabled() -> bool:
    return bool(settings.MQTT_URL)


# --- topics and ACLs -------------------------------------------------------------------------

def data_topic(plant_id: str) -> str:
    return f"solar/{plant_id}/data"


def gateway_acls(plant_id: str) -> list[dict]:
    """A gateway publishes its plant's data, shadow reports and command acks, and subscribes
    to its plant's commands and shadow delta; nothing else (the default is deny)."""
    publish = [data_topic(plant_id), f"solar/{plant_id}/shadow/reported", f"solar/{plant_id}/commands/ack"]
    subscribe = [f"solar/{plant_id}/commands/#", f"solar/{plant_id}/shadow/delta"]
    return ([{"acltype": "publishClientSend", "topic": topic, "allow": True} for topic in publish]
            + [{"acltype": "subscribePattern", "topic": topic, "allow": True} for topic in subscribe])


def _platform_roles() -> list[dict]:
    control = [{"acltype": kind, "topic": "$CONTROL/dynamic-security/#", "allow": True}
               for kind in ("publishClientSend", "publishClientReceive", "subscribePattern")]
    control.append({"acltype": "publishClientSend", "topic": "solar/+/commands/#", "allow": True})
    # The bridge reads data and control traffic and publishes commands and shadow deltas.
    bridge = [{"acltype": "subscribePattern", "topic": topic, "allow": True}
              for topic in (SHARED_SUBSCRIPTION, EXCLUSIVE_SUBSCRIPTION, *CONTROL_TOPICS,
                            *SHARED_CONTROL_SUBSCRIPTIONS)]
    bridge += [{"acltype": "publishClientSend", "topic": topic, "allow": True}
               for topic in ("solar/+/commands/+", "solar/+/shadow/delta")]
    return [{"rolename": CONTROL_ROLE, "acls": control}, {"rolename": BRIDGE_ROLE, "acls": bridge}]


def dynsec_state(gateways) -> dict:
    """The plugin's whole configuration, from Tocsin's rows (a fresh broker starts from it)."""
    clients = [{"username": pki.platform_identity(role), "roles": [{"rolename": role}]}
               for role in (CONTROL_ROLE, BRIDGE_ROLE)]
    roles = _platform_roles()
    for gateway in gateways:
        clients.append({"username": gateway.identity, "roles": [{"rolename": gateway.identity}]})
        roles.append({"rolename": gateway.identity, "acls": gateway_acls(gateway.site.public_id)})
    return {"clients": clients, "groups": [], "roles": roles,
            "defaultACLAccess": {"publishClientSend": False, "publishClientReceive": True, "subscribe": False,
                                 "unsubscribe": True}}


# --- the broker's files ----------------------------------------------------------------------

def dynsec_plugin_path() -> str | None:
    return next((path for path in DYNSEC_PLUGIN_PATHS if os.path.exists(path)), None)


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)  # the broker never reads a half-written file


def write_broker_files(*, directory: Path, port: int, bind: str = "127.0.0.1", hosts: list[str] | None = None,
                       persistence: bool = True, plugin_path: str | None = None, user: str | None = None) -> Path:
    """Everything a Mosquitto 2 needs to serve Tocsin's gateways; returns the config path."""
    from apps.iot.models import Gateway, GatewayStatus

    directory.mkdir(parents=True, exist_ok=True)
    root = authority.root_pair()
    server = pki.issue_server_keypair(root=root, hosts=hosts or ["localhost", "127.0.0.1"])
    write_atomically(directory / "ca.pem", root.cert_pem)
    write_atomically(directory / "server.pem", server.cert_pem)
    write_atomically(directory / "server.key", server.key_pem, 0o600)
    write_atomically(directory / "crl.pem", authority.crl_bundle())
    live = Gateway.objects.filter(status=GatewayStatus.ACTIVE).select_related("site")
    write_atomically(directory / "dynsec.json", json.dumps(dynsec_state(live), indent=1), 0o600)
    (directory / "data").mkdir(exist_ok=True)
    plugin = plugin_path or dynsec_plugin_path()
    if plugin is None:
        raise BrokerError("Mosquitto's dynamic-security plugin is not installed (Debian: mosquitto).")
    user = user or getpass.getuser()
    lines = [
        "# Written by Tocsin (manage.py mqtt_broker_config); rewritten on every start.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"user {user}",  # as root Mosquitto would drop to `mosquitto`, which cannot write here
        f"persistence {'true' if persistence else 'false'}",
        f"persistence_location {directory / 'data'}/",
        "autosave_interval 1",
        # The bridge's QoS 1 backlog survives its restarts: a million messages before any drop.
        # (0, "no limit", makes Mosquitto 2.0.11 drop a client whose publish was denied.)
        "max_queued_messages 1000000",
        "max_inflight_messages 1000",
        "persistent_client_expiration 7d",
        "log_dest stdout",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
        f"plugin {plugin}",
        f"plugin_opt_config_file {directory / 'dynsec.json'}",
        f"listener {port} {bind}",
        f"cafile {directory / 'ca.pem'}",
        f"certfile {directory / 'server.pem'}",
        f"keyfile {directory / 'server.key'}",
        f"crlfile {directory / 'crl.pem'}",
        "require_certificate true",
        "use_identity_as_username true",
    ]
    config = directory / "mosquitto.conf"
    write_atomically(config, "\n".join(lines) + "\n")
    return config


def refresh_crl_file() -> bool:
    """Rewrite the broker's CRL file if it differs from the database's; True when it changed.

    The bridge calls this every few seconds, so a revocation made by a process that cannot
    reach the broker's files (the web or a worker container) still reaches the broker.
    """
    directory = Path(settings.MQTT_BROKER_DIR)
    if not directory.is_dir():
        return False
    path = directory / "crl.pem"
    current = authority.crl_bundle_fingerprint()
    if path.with_name("crl.fingerprint").exists() and path.with_name("crl.fingerprint").read_text() == current:
        return False
    publish_crl()
    write_atomically(path.with_name("crl.fingerprint"), current)
    return True


def publish_crl() -> None:
    """Rewrite the broker's CRL and make it reload: a revoked certificate can no longer connect.

    The broker rereads `crlfile` on SIGHUP. When Tocsin runs the broker (`make run`, tests)
    it signals it by its pid file; the compose service runs a watcher that sends the
    SIGHUP within 30 s of the file changing (docker-compose.yml).
    """
    directory = Path(settings.MQTT_BROKER_DIR)
    if not directory.is_dir():
        return
    write_atomically(directory / "crl.pem", authority.crl_bundle())
    pidfile = Path(settings.MQTT_BROKER_PIDFILE) if settings.MQTT_BROKER_PIDFILE else directory / "mosquitto.pid"
    # Not a process of ours to signal: the broker's watcher reloads it instead.
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text().strip()), signal.SIGHUP)
