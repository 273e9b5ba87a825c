"""Tocsin's side of the Mosquitto broker: its files, its reload, and its control channel.

Invariant: the broker enforces who may connect and what each client may touch. Connecting
needs a client certificate that chains to Tocsin's root and is not on the CRL
(`require_certificate`, `crlfile`); the certificate's common name becomes the MQTT username
(`use_identity_as_username`), and Mosquitto's dynamic-security plugin holds one client and
one role per gateway with its plant's topics only. Tocsin changes that state over the
plugin's `$CONTROL/dynamic-security/v1` topic, so a change applies at once (a deleted
client is disconnected on the spot) and works against a broker on another host.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import queue
import signal
import tempfile
import threading
import uuid
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


def _write(path: Path, text: str, mode: int = 0o644) -> None:
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
    _write(directory / "ca.pem", root.cert_pem)
    _write(directory / "server.pem", server.cert_pem)
    _write(directory / "server.key", server.key_pem, 0o600)
    _write(directory / "crl.pem", authority.crl_bundle())
    live = Gateway.objects.filter(status=GatewayStatus.ACTIVE).select_related("site")
    _write(directory / "dynsec.json", json.dumps(dynsec_state(live), indent=1), 0o600)
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
    _write(config, "\n".join(lines) + "\n")
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
    _write(path.with_name("crl.fingerprint"), current)
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
    _write(directory / "crl.pem", authority.crl_bundle())
    pidfile = Path(settings.MQTT_BROKER_PIDFILE) if settings.MQTT_BROKER_PIDFILE else directory / "mosquitto.pid"
    # Not a process of ours to signal: the broker's watcher reloads it instead.
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text().strip()), signal.SIGHUP)


# --- Tocsin's own client credentials -----------------------------------------------------------

_credentials: dict[str, tuple[str, str, str]] = {}
_credentials_lock = threading.Lock()


def platform_credentials(role: str) -> tuple[str, str, str]:
    """(ca file, certificate file, key file) for one of Tocsin's clients, issued by the root
    for this process and kept in a private temporary directory (paho reads files)."""
    root = authority.root_pair()
    cache_key = f"{role}:{pki.fingerprint(root.cert_pem)}"
    with _credentials_lock:
        if cache_key not in _credentials:
            pair = pki.issue_client_keypair(issuer=root, common_name=pki.platform_identity(role),
                                            serial=int(uuid.uuid4().int >> 64), days=30)
            directory = Path(tempfile.mkdtemp(prefix=f"tocsin-mqtt-{role}-"))
            paths = (directory / "ca.pem", directory / "client.pem", directory / "client.key")
            for path, text in zip(paths, (root.cert_pem, pair.cert_pem, pair.key_pem), strict=False):
                _write(path, text, 0o600)
            _credentials[cache_key] = tuple(str(path) for path in paths)
        return _credentials[cache_key]


def new_client(*, role: str, client_id: str = "", manual_ack: bool = False, clean_start: bool = True):
    import paho.mqtt.client as mqtt

    ca, cert, key = platform_credentials(role)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                         client_id=client_id or f"tocsin-{role}-{uuid.uuid4().hex[:8]}",
                         protocol=mqtt.MQTTv5, manual_ack=manual_ack)
    client.tls_set(ca_certs=ca, certfile=cert, keyfile=key)
    return client


# --- the dynamic-security control channel --------------------------------------------------------

class BrokerControl:
    """A short-lived control connection: `with BrokerControl() as broker: broker.run(...)`."""

    def __init__(self, timeout: float | None = None):
        self.timeout = timeout or settings.MQTT_CONTROL_TIMEOUT_SECONDS
        self._responses: queue.Queue = queue.Queue()
        self._connected = threading.Event()
        self._client = None

    def __enter__(self) -> BrokerControl:
        from paho.mqtt.reasoncodes import ReasonCode

        address = broker_address()
        client = new_client(role=CONTROL_ROLE)
        outcome: dict = {}

        def on_connect(_client, _userdata, _flags, reason: ReasonCode, _properties):
            outcome["reason"] = reason
            if not reason.is_failure:
                _client.subscribe(CONTROL_RESPONSE_TOPIC, qos=1)
            self._connected.set()

        client.on_connect = on_connect
        client.on_subscribe = lambda *_args: self._responses.put({"subscribed": True})
        client.on_message = lambda _c, _u, message: self._responses.put(json.loads(message.payload))
        try:
            client.connect(address.host, address.port, keepalive=30)
        except OSError as exc:
            raise BrokerError(f"The MQTT broker at {address.host}:{address.port} is unreachable.") from exc
        client.loop_start()
        self._client = client
        if not self._connected.wait(self.timeout) or outcome.get("reason") is None or outcome["reason"].is_failure:
            self.__exit__(None, None, None)
            raise BrokerError("The MQTT broker refused Tocsin's control client.")
        self._wait(lambda response: response.get("subscribed"))
        return self

    def __exit__(self, *exc_info) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def _wait(self, matches) -> dict:
        import time

        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerError("The MQTT broker did not answer a control command in time.")
            try:
                response = self._responses.get(timeout=remaining)
            except queue.Empty:
                continue
            if matches(response):
                return response

    def run(self, *commands: dict, tolerate: tuple[str, ...] = ()) -> list[dict]:
        """Send commands in one message; raise on any error not listed in `tolerate`."""
        tag = uuid.uuid4().hex
        tagged = [{**command, "correlationData": f"{tag}:{index}"} for index, command in enumerate(commands)]
        self._client.publish(CONTROL_TOPIC, json.dumps({"commands": tagged}), qos=1)
        response = self._wait(lambda r: any(str(item.get("correlationData", "")).startswith(tag)
                                            for item in r.get("responses", [])))
        results = response["responses"]
        for item in results:
            error = item.get("error")
            if error and not any(text in error for text in tolerate):
                raise BrokerError(f"The broker refused {item.get('command')}: {error}")
        return results


def install_gateway(*, identity: str, plant_id: str) -> None:
    with BrokerControl() as broker:
        broker.run({"command": "createRole", "rolename": identity, "acls": gateway_acls(plant_id)},
                   {"command": "createClient", "username": identity, "roles": [{"rolename": identity}]},
                   tolerate=("already exists",))


def remove_gateway(*, identity: str) -> None:
    """Deleting the client disconnects an open session at once; then its role goes."""
    with BrokerControl() as broker:
        broker.run({"command": "deleteClient", "username": identity},
                   {"command": "deleteRole", "rolename": identity}, tolerate=("not found",))
