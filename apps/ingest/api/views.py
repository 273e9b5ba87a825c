"""The device API for reports: heartbeats, scan batches, telemetry, device-raised alerts.

These are the busiest endpoints: bodies are validated by the plain-Python validators in
`apps/ingest/validation/` (the serializers describe the same contract for the schema) and
answers are rendered by `JsonResponse` rather than DRF's renderer.
"""

from __future__ import annotations

import uuid

from django.http import JsonResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import status

from apps.alerts.models import Severity
from apps.common.errors import ApplicationError
from apps.common.privacy import refuse_personal_data
from apps.devices.api.views_device import DeviceApi, server_time
from apps.devices.replies import heartbeat_reply
from apps.ingest.api.serializers import DeviceAlertInput, HeartbeatInput
from apps.ingest.services.device_alerts import DEVICE_ALERT_KINDS, device_alert_report
from apps.ingest.services.heartbeats import heartbeat_ingest
from apps.ingest.services.scans import scans_ingest
from apps.ingest.services.telemetry import telemetry_ingest
from apps.ingest.validation.device_alert import validate_device_alert
from apps.ingest.validation.heartbeat import validate_heartbeat
from apps.ingest.validation.readings import validate_reading
from apps.ingest.validation.scans import validate_scan
from apps.ingest.validation.typed import TYPED_FIELDS

MAX_BATCH_ITEMS = 500
ALERT_KINDS = frozenset(DEVICE_ALERT_KINDS)
SEVERITIES = frozenset(Severity.values)


def _refuse_personal_data(body) -> None:
    """Before validation, so a refused body is neither stored nor echoed in field errors."""
    refuse_personal_data(body, typed_fields=TYPED_FIELDS)


def _items(body, list_key: str):
    if not isinstance(body, dict):
        raise ApplicationError("The body must be a JSON object.")
    items = body.get(list_key)
    if not isinstance(items, list) or not items:
        raise ApplicationError(f"'{list_key}' must be a non-empty list.", fields={list_key: ["Required."]})
    if len(items) > MAX_BATCH_ITEMS:
        raise ApplicationError(f"At most {MAX_BATCH_ITEMS} items per request.",
                               fields={list_key: [f"Too many items ({len(items)})."]})
    return items


def _validate_all(items, validator) -> tuple[list[dict], list[dict]]:
    valid, rejected = [], []
    now = timezone.now()
    for index, item in enumerate(items):
        clean, errors = validator(item, now)
        if errors:
            rejected.append({"index": index, "errors": errors})
        else:
            valid.append(clean)
    return valid, rejected


def _invalid(errors: dict) -> ApplicationError:
    """The same 400 as a serializer's: code "invalid" with field errors."""
    return ApplicationError("The request body is invalid.", code="invalid", fields=errors)


def _batch_response(result, rejected) -> JsonResponse:
    return JsonResponse({"accepted": result.accepted, "duplicates": result.duplicates, "rejected": rejected},
                        status=status.HTTP_202_ACCEPTED)


def _nothing_valid(list_key: str, rejected: list[dict]) -> ApplicationError:
    return ApplicationError("No item in the batch is valid.", fields={list_key: rejected})


class HeartbeatApi(DeviceApi):
    @extend_schema(
        request=HeartbeatInput, responses={202: OpenApiTypes.OBJECT}, tags=["device"],
        summary="Report a heartbeat (device token)",
        description="The device's periodic state: only `sent_at` is required; battery, link, health, uptime, "
                    "error count, scanner status, firmware and the agent's outbox (`size`, `oldest_age_s`, "
                    "`parked`) when known. Answers `202 {\"accepted\": true, \"applied\": bool, \"server_time\"}` "
                    "plus `shadow: {version, delta}` when the desired shadow differs from the reported one and "
                    "`commands: [{id, name, params, expires_at}]` when commands wait (each handed out once); "
                    "`applied` is false for a heartbeat older than "
                    "the newest one seen (kept as history, changes nothing). Three missed heartbeats raise "
                    "'device offline'. Errors: 400 `invalid` with field errors, 401, 429 and 503 with Retry-After. "
                    "Examples: docs/device-api.md.")
    def post(self, request):
        _refuse_personal_data(request.data)
        heartbeat, errors = validate_heartbeat(request.data)
        if errors:
            raise _invalid(errors)
        result = heartbeat_ingest(device=self.device, heartbeat=heartbeat)
        body = {"accepted": True, "applied": result.applied, "server_time": server_time(),
                **heartbeat_reply(self.device)}
        return JsonResponse(body, status=status.HTTP_202_ACCEPTED)


class ScanBatchApi(DeviceApi):
    @extend_schema(
        request=OpenApiTypes.OBJECT, responses={202: OpenApiTypes.OBJECT}, tags=["device"],
        summary="Send a batch of anonymised ID scans (device token)",
        description="`{\"batch_id\": uuid, \"scans\": [...]}`, at most 500 scans, each with `scan_id`, "
                    "`scanned_at`, birth year, age, underage/valid/expired flags, jurisdiction and a keyed "
                    "subject hash. Answers `202 {accepted, duplicates, rejected: [{index, errors}]}`: valid scans "
                    "are stored, a resent scan id counts once. Any raw personal data refuses the whole request "
                    "(400 `personal_data_refused`, naming the keys). Examples: docs/device-api.md.")
    def post(self, request):
        body = request.data
        _refuse_personal_data(body)
        items = _items(body, "scans")
        try:
            batch_id = uuid.UUID(str(body.get("batch_id")))
        except ValueError as exc:
            raise ApplicationError("batch_id must be a UUID.", fields={"batch_id": ["Must be a UUID."]}) from exc
        scans, rejected = _validate_all(items, validate_scan)
        if not scans:
            raise _nothing_valid("scans", rejected)
        result = scans_ingest(device=self.device, batch_id=batch_id, scans=scans, rejected=rejected)
        return _batch_response(result, rejected)


class TelemetryApi(DeviceApi):
    @extend_schema(
        request=OpenApiTypes.OBJECT, responses={202: OpenApiTypes.OBJECT}, tags=["device"],
        summary="Send telemetry readings (device token)",
        description="`{\"readings\": [{message_id, metric, value, unit, ts}]}`, at most 500. Answers "
                    "`202 {accepted, duplicates, rejected: [{index, errors}]}`; a resent message id counts once. "
                    "Site thresholds sustained for their duration raise alerts. Examples: docs/device-api.md.")
    def post(self, request):
        _refuse_personal_data(request.data)
        items = _items(request.data, "readings")
        readings, rejected = _validate_all(items, validate_reading)
        if not readings:
            raise _nothing_valid("readings", rejected)
        result = telemetry_ingest(device=self.device, readings=readings, rejected=rejected)
        return _batch_response(result, rejected)


class DeviceAlertApi(DeviceApi):
    @extend_schema(
        request=DeviceAlertInput, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT}, tags=["device"],
        summary="Raise an alert the device detected (device token)",
        description="`kind` (breach, underage, tamper, battery_low, custom), optional `severity`, `dedup_key`, "
                    "`occurred_at` and `details` (≤ 8 KiB, no personal data). Answers "
                    "`201 {alert_id, deduplicated: false, count}` for a new alert, `200` with "
                    "`deduplicated: true` when the same open alert was bumped. Examples: docs/device-api.md.")
    def post(self, request):
        _refuse_personal_data(request.data)
        report, errors = validate_device_alert(request.data, kinds=ALERT_KINDS, severities=SEVERITIES)
        if errors:
            raise _invalid(errors)
        result = device_alert_report(device=self.device, **report)
        return JsonResponse({"alert_id": result.alert.public_id, "deduplicated": result.deduplicated,
                             "count": result.alert.count},
                            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
