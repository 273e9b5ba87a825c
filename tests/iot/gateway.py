"""Acting as a plant gateway against the test broker: certificate files and a paho client."""

from __future__ import annotations

import queue
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric import ec

from apps.iot import pki


def gateway_key_and_csr():
    key = ec.generate_private_key(ec.SECP256R1())
    return key, pki.make_csr(key=key, common_name="asks-for-anything")


def write_identity(directory: Path, *, cert_pem: str, chain_pem: str, key_pem: str, ca_pem: str) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    files = {"ca_certs": directory / "ca.pem", "certfile": directory / "cert.pem", "keyfile": directory / "key.pem"}
    files["ca_certs"].write_text(ca_pem)
    files["certfile"].write_text(cert_pem + chain_pem)
    files["keyfile"].write_text(key_pem)
    return {name: str(path) for name, path in files.items()}


class MqttTestClient:
    """A paho v5 client that records connack, pubacks, subacks, messages and disconnects."""

    def __init__(self, port: int, tls: dict | None, *, client_id: str | None = None, username: str | None = None,
                 password: str | None = None):
        self.port = port
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or uuid.uuid4().hex[:12],
                                  protocol=mqtt.MQTTv5, reconnect_on_failure=False)
        if tls is not None:
            self.client.tls_set(**tls)
        if username:
            self.client.username_pw_set(username, password)
        self.connack = queue.Queue()
        self.acks: dict[int, object] = {}
        self.messages: queue.Queue = queue.Queue()
        self.disconnected = threading.Event()
        self._acked = threading.Condition()
        self.client.on_connect = lambda _c, _u, _f, reason, _p: self.connack.put(reason)
        self.client.on_disconnect = lambda *_args: self.disconnected.set()
        self.client.on_publish = self._on_ack
        self.client.on_subscribe = lambda _c, _u, mid, reasons, _p: self._on_ack(_c, _u, mid, reasons, _p)
        self.client.on_message = lambda _c, _u, message: self.messages.put(message)

    def _on_ack(self, _client, _userdata, mid, reason, _properties):
        with self._acked:
            self.acks[mid] = reason
            self._acked.notify_all()

    def connect(self, timeout: float = 5.0):
        """The CONNACK reason, or None when the broker refused the TLS handshake."""
        try:
            self.client.connect("127.0.0.1", self.port, keepalive=10)
        except OSError:
            return None
        self.client.loop_start()
        try:
            return self.connack.get(timeout=timeout)
        except queue.Empty:
            return None

    def wait_ack(self, mid: int, timeout: float = 5.0):
        with self._acked:
            self._acked.wait_for(lambda: mid in self.acks, timeout=timeout)
            return self.acks.get(mid)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1):
        info = self.client.publish(topic, payload, qos=qos)
        return self.wait_ack(info.mid)

    def subscribe(self, topic: str, qos: int = 1):
        _rc, mid = self.client.subscribe(topic, qos=qos)
        reasons = self.wait_ack(mid)
        assert reasons is not None, f"no SUBACK for {topic} ({_rc}, connected: {self.client.is_connected()})"
        return reasons[0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
