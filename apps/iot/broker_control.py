"""Tocsin's own clients of the broker, and the dynamic-security control channel.

Invariant: Tocsin connects to the broker only with a client certificate of its own, issued
by the root for this process (`platform_credentials`), never with a gateway's; and every
change to the broker's clients and roles is a control command that the broker answers
(`BrokerControl.run` raises on a refusal it was not told to tolerate), so a gateway is
installed or removed for certain, or the caller knows it was not.
"""

from __future__ import annotations

import json
import queue
import tempfile
import threading
import uuid
from pathlib import Path

from django.conf import settings

from apps.iot import authority, pki
from apps.iot.broker import (
    CONTROL_RESPONSE_TOPIC,
    CONTROL_ROLE,
    CONTROL_TOPIC,
    BrokerError,
    broker_address,
    gateway_acls,
    write_atomically,
)

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
                write_atomically(path, text, 0o600)
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
