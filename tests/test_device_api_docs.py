"""A device client written from docs/device-api.md alone, against a live server.

The test copies every request block of the page in order, fills in its `<...>` blanks the
way the text says (the QR's values, the device's own key, values from earlier answers,
"now"), signs exactly the lines of the page's signing blocks, and checks each answer has
the status and the keys the page shows. If the page and the API drift apart, this fails.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

PAGE = Path(__file__).resolve().parents[1] / "docs" / "device-api.md"
BLOCK = re.compile(r"```(\w+)([^\n]*)\n(.*?)```", re.DOTALL)

pytestmark = pytest.mark.django_db(transaction=True)


def _blocks() -> list[tuple[str, str, str]]:
    """(kind, argument, body) for each `json request|response` and `text sign` block."""
    found = []
    for language, info, body in BLOCK.findall(PAGE.read_text()):
        words = info.split()
        if language == "json" and words and words[0] in {"request", "response"}:
            found.append((words[0], " ".join(words[1:]), body))
        elif language == "text" and words and words[0] == "sign":
            found.append(("sign", " ".join(words[1:]), body))
    return found


def test_the_page_covers_enrolment_heartbeat_alert_and_renewal():
    paths = [argument for kind, argument, _ in _blocks() if kind == "request"]
    assert paths == ["POST /api/v1/devices/enroll/", "POST /api/v1/devices/enroll/complete/",
                     "POST /api/v1/heartbeats/", "POST /api/v1/device-alerts/",
                     "POST /api/v1/devices/challenge/", "POST /api/v1/devices/token/",
                     "PATCH /api/v1/devices/me/shadow/"]


def test_a_client_written_from_the_page_enrols_heartbeats_raises_an_alert_and_renews(
        live_server, world_a, issue_setup_token):
    qr = {"setup_token": issue_setup_token(world_a.site), "location_id": world_a.site.location_id}
    private = Ed25519PrivateKey.generate()
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    blanks = {"<setup_token from the QR>": qr["setup_token"], "<location_id from the QR>": qr["location_id"],
              "<base64 public key>": base64.b64encode(raw_public).decode()}
    known: dict[str, str] = {}  # values from the device's own request and the answers so far
    session = requests.Session()
    pending: requests.Response | None = None
    for kind, argument, body in _blocks():
        if kind == "sign":
            message = body.rstrip("\n")
            for name, value in known.items():
                message = message.replace(f"<{name}>", value)
            assert "<" not in message, message
            blanks["<base64 signature>"] = base64.b64encode(private.sign(message.encode())).decode()
        elif kind == "request":
            method, path = argument.split()
            text = body.replace("<now, ISO 8601 with timezone>", timezone.now().isoformat())
            text = text.replace("<enrollment_id from step 1>", known.get("enrollment_id", ""))
            text = text.replace("<device_id from enrolment>", known.get("device_id", ""))
            text = text.replace("<challenge_id from the challenge>", known.get("challenge_id", ""))
            for blank, value in blanks.items():
                text = text.replace(blank, value)
            payload = json.loads(text)
            known.update({k: v for k, v in payload.items() if k == "hardware_id"})
            pending = session.request(method, live_server.url + path, json=payload, timeout=10)
        else:
            assert pending is not None
            documented = json.loads(body)
            assert pending.status_code == int(argument), (pending.request.url, pending.text)
            answer = pending.json()
            assert set(answer) == set(documented), (pending.request.url, answer)
            known.update({k: v for k, v in answer.items() if isinstance(v, str)})
            if "access" in answer:
                session.headers["Authorization"] = f"Bearer {answer['access']}"
            pending = None
    assert known["alert_id"].startswith("alr_")
    me = session.get(f"{live_server.url}/api/v1/devices/me/", timeout=10)
    assert me.status_code == 200 and me.json()["device_id"] == known["device_id"]


def test_every_device_operation_has_its_own_description_in_the_openapi_schema(client, world_a):
    client.force_login(world_a.admin)  # the schema needs a login outside DEBUG
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    device_paths = ["/api/v1/devices/enroll/", "/api/v1/devices/enroll/complete/", "/api/v1/devices/challenge/",
                    "/api/v1/devices/token/", "/api/v1/devices/me/", "/api/v1/heartbeats/",
                    "/api/v1/scans/batch/", "/api/v1/telemetry/", "/api/v1/device-alerts/",
                    "/api/v1/devices/me/shadow/", "/api/v1/devices/me/commands/",
                    "/api/v1/devices/me/commands/{command_id}/ack/", "/api/v1/devices/me/key/"]
    for path in device_paths:
        for operation in schema["paths"][path].values():
            assert operation["summary"] and len(operation["description"]) > 60, path
            assert "Base for every endpoint" not in operation["description"], path
