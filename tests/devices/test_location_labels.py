"""Rooms, tills and inverters (issue 16): a device's place inside its site, set at enrolment
(body or QR), in the API and the admin, and in bulk from a CSV; allowed BSSIDs as a list."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from apps.audit.models import AuditEntry
from apps.audit.services import Actor
from apps.devices import room_import
from apps.devices.models import Device
from apps.devices.setup_tokens import setup_token_create
from tests.factories import DEFAULT_PASSWORD, DeviceFactory
from tests.support.device_keys import DeviceKey

pytestmark = pytest.mark.django_db


def _enrol(site, token: str, hardware_id: str, **extra) -> Device:
    key = DeviceKey()
    started = APIClient().post("/api/v1/devices/enroll/", {
        "setup_token": token, "location_id": site.location_id, "hardware_id": hardware_id, "model": "Tab A9",
        "kind": "tablet", "public_key": key.public_b64, **extra}, format="json")
    assert started.status_code == 201, started.content
    body = started.json()
    signature = key.sign_enrollment(enrollment_id=body["enrollment_id"], hardware_id=hardware_id,
                                    challenge=body["challenge"])
    done = APIClient().post("/api/v1/devices/enroll/complete/", {"enrollment_id": body["enrollment_id"],
                                                                 "signature": signature}, format="json")
    assert done.status_code == 200, done.content
    return Device.objects.get(public_id=done.json()["device_id"])


def test_the_label_is_set_at_enrolment_from_the_body_or_the_qr(world_a, issue_setup_token):
    device = _enrol(world_a.site, issue_setup_token(world_a.site, max_uses=2), "tab-305",
                    location_label="  Room   305 ")
    assert device.location_label == "Room 305" and str(device) == "Room 305"
    issued = setup_token_create(site=world_a.site, actor=Actor.system("test"), location_label="Room 306")
    assert json.loads(issued.qr_payload)["location_label"] == "Room 306"
    assert _enrol(world_a.site, issued.token, "tab-306").location_label == "Room 306"
    plain = issue_setup_token(world_a.site)
    too_long = APIClient().post("/api/v1/devices/enroll/", {
        "setup_token": plain, "location_id": world_a.site.location_id, "hardware_id": "tab-307", "kind": "tablet",
        "public_key": DeviceKey().public_b64, "location_label": "x" * 61}, format="json")
    assert too_long.status_code == 400 and "location_label" in too_long.json()["error"]["fields"]
    me = APIClient()
    from apps.devices.device_tokens import issue_device_token

    me.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_device_token(device)[0]}")
    assert me.get("/api/v1/devices/me/").json()["location_label"] == "Room 305"


def test_managers_set_the_label_and_bssids_in_the_api(world_a, world_b, client_for):
    device = DeviceFactory(site=world_a.site)
    url = f"/api/v1/devices/{device.public_id}/"
    response = client_for(world_a.admin).patch(url, {"location_label": "Till 2",
                                                     "allowed_bssids": ["AA:BB:CC:00:00:01", "aa:bb:cc:00:00:02"]},
                                               format="json")
    assert response.status_code == 200, response.content
    assert response.json()["location_label"] == "Till 2"
    assert response.json()["allowed_bssids"] == ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02"]
    device.refresh_from_db()
    assert device.desired_state["allowed_bssids"] == ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02"]
    bad = client_for(world_a.admin).patch(url, {"allowed_bssids": ["not-a-mac"]}, format="json")
    assert bad.status_code == 400 and "allowed_bssids" in bad.json()["error"]["fields"]
    personal = client_for(world_a.admin).patch(url, {"location_label": "DOB 1990-04-01"}, format="json")
    assert personal.status_code == 400
    for role in ("staff", "viewer"):
        assert client_for(getattr(world_a, role)).patch(url, {"location_label": "x"}, format="json").status_code == 403
    assert client_for(world_b.admin).patch(url, {"location_label": "x"}, format="json").status_code == 404
    assert AuditEntry.objects.filter(tenant=world_a.tenant, action="device.updated").exists()


def _hotel_csv(devices, extra_lines=()) -> str:
    lines = ["label,hardware_id,allowed_bssids"]
    lines += [f"Room {100 + n},{device.hardware_id},aa:bb:cc:00:{n // 100:02x}:{n % 100:02x}"
              for n, device in enumerate(devices)]
    return "\n".join([*lines, *extra_lines]) + "\n"


def test_a_csv_of_200_rooms_imports_with_per_line_errors_and_nothing_lost(world_a, world_b, client_for):
    devices = [DeviceFactory(site=world_a.site) for _ in range(200)]
    foreign = DeviceFactory(site=world_b.site)
    bad = ["Room 900,no-such-device,", f"Room 901,{devices[0].hardware_id},",
           f"Room 902,{devices[1].hardware_id[:-1]}x,", f"{'R' * 61},{devices[2].hardware_id},",
           f"Room 903,{devices[3].hardware_id},zz:zz",
           f"Room 904,{foreign.hardware_id},", "only-one-column"]
    lines = _hotel_csv(devices, bad)
    response = client_for(world_a.admin).post("/api/v1/devices/import/", {"csv": lines}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    errors = {error["line"]: error for error in body["errors"]}
    assert set(errors) == {202, 203, 204, 205, 206, 207, 208}
    assert "also on line 2" in errors[203]["errors"][0]
    assert "enrol it first" in errors[207]["errors"][0]  # another tenant's device: as unknown
    assert "60 characters" in errors[205]["errors"][0] and "MAC" in errors[206]["errors"][0]
    # Every good line stored: the lines whose device also appears on a bad line were good themselves.
    assert body["updated"] == 200 and body["failed"] == 7
    labels = dict(Device.objects.filter(tenant=world_a.tenant).values_list("hardware_id", "location_label"))
    assert all(labels[device.hardware_id] == f"Room {100 + n}" for n, device in enumerate(devices))
    assert Device.objects.get(pk=devices[5].pk).desired_state["allowed_bssids"] == ["aa:bb:cc:00:00:05"]
    foreign.refresh_from_db()
    assert foreign.location_label == ""
    entry = AuditEntry.objects.get(tenant=world_a.tenant, action="device.labels_imported")
    assert entry.details["updated"] == 200 and entry.details["failed"] == 7
    again = client_for(world_a.admin).post("/api/v1/devices/import/", {"csv": _hotel_csv(devices)}, format="json")
    assert again.json()["unchanged"] == 200 and again.json()["updated"] == 0


def test_the_import_is_bounded_and_for_managers_only(world_a, client_for, settings):
    assert client_for(world_a.staff).post("/api/v1/devices/import/", {"csv": "a,b"}, format="json").status_code == 403
    too_many = "\n".join(f"Room {n},hw-{n}" for n in range(room_import.MAX_ROWS + 2))
    refused = client_for(world_a.admin).post("/api/v1/devices/import/", {"csv": too_many}, format="json")
    assert refused.status_code == 400
    big = client_for(world_a.admin).post("/api/v1/devices/import/", {"csv": "x" * (room_import.MAX_BYTES + 1)},
                                         format="json")
    assert big.status_code == 400


def _browser(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def test_the_import_screen_as_tenant_admin(world_a, world_b):
    devices = [DeviceFactory(site=world_a.site) for _ in range(3)]
    client = _browser(world_a.admin)
    assert "Import rooms from CSV" in client.get("/admin/devices/device/").content.decode()
    page = client.get("/admin/devices/device/import/").content.decode()
    assert world_a.site.name in page and world_b.site.name not in page
    upload = SimpleUploadedFile("rooms.csv", _hotel_csv(devices, ["Room 9,unknown-hw,"]).encode(), "text/csv")
    response = client.post("/admin/devices/device/import/", {"file": upload, "site": world_a.site.pk})
    html = response.content.decode()
    assert response.status_code == 200 and "3 device(s) updated" in html and "unknown-hw" in html
    assert Device.objects.get(pk=devices[2].pk).location_label == "Room 102"


@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_staff_and_viewers_cannot_import(world_a, role):
    device = DeviceFactory(site=world_a.site)
    client = _browser(getattr(world_a, role))
    assert client.get("/admin/devices/device/import/").status_code == 302
    upload = SimpleUploadedFile("rooms.csv", f"Room 1,{device.hardware_id},\n".encode(), "text/csv")
    client.post("/admin/devices/device/import/", {"file": upload})
    device.refresh_from_db()
    assert device.location_label == ""


def test_the_admin_edits_bssids_as_a_list(world_a):
    device = DeviceFactory(site=world_a.site, desired_state={"allowed_bssids": ["aa:bb:cc:00:00:01"], "volume": 3})
    client = _browser(world_a.admin)
    url = f"/admin/devices/device/{device.pk}/change/"
    form = client.get(url).content.decode()
    assert "aa:bb:cc:00:00:01</textarea>" in form and "allowed_bssids&quot;" not in form
    data = {"name": device.name, "location_label": "Room 305", "site": world_a.site.pk,
            "allowed_bssids": "AA:BB:CC:00:00:09\r\naa:bb:cc:00:00:0a\r\n", "desired_state": json.dumps({"volume": 3})}
    assert client.post(url, data).status_code == 302
    device.refresh_from_db()
    assert device.location_label == "Room 305"
    assert device.desired_state == {"volume": 3, "allowed_bssids": ["aa:bb:cc:00:00:09", "aa:bb:cc:00:00:0a"]}
    refused = client.post(url, {**data, "allowed_bssids": "aa:bb:cc\nnot a mac"})
    assert refused.status_code == 200 and "is not a MAC address" in refused.content.decode()
    staff = _browser(world_a.staff).post(url, {**data, "location_label": "Hacked"})
    assert staff.status_code == 403
