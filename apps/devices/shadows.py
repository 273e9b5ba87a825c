"""Device shadows: a desired and a reported document per device, one version for both.

Invariant: the version rises by one on every change of either document, under the device
row's lock, so `If-Match: <version>` decides a race between two staff edits in PostgreSQL
(the loser gets 412) and a device can tell an old delta from a new one. The delta is what
desired says and reported does not (recursively, as AWS IoT computes it); it is derived,
never stored. `shadow_pending_since` is set while the delta is not empty: the drift rule
(apps/ingest/fleet.py) raises an alert when it is older than TOCSIN_SHADOW_DRIFT_SECONDS.

Both documents are merged (JSON merge patch: `null` removes a key), capped at 8 KiB each
(413, as AWS does), their keys plain identifiers at most five levels deep. The keys the
agent understands (batch size, thresholds, allowed BSSIDs, room label, ...) are checked
for type and range, so a typo cannot reach a device.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework import status

from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError
from apps.common.privacy import refuse_personal_data
from apps.devices.models import Device

MAX_DOCUMENT_BYTES = 8 * 1024
MAX_DEPTH = 5
KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
BSSID = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_MISSING = object()


class ShadowTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "shadow_too_large"


class VersionConflict(ApplicationError):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    code = "version_conflict"


def _number(low: float, high: float, *, integer: bool) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            return f"Must be {'a whole number' if integer else 'a number'} from {low} to {high}."
        return None
    return check


def _text(max_length: int) -> Callable[[Any], str | None]:
    return lambda v: None if isinstance(v, str) and len(v) <= max_length else f"Must be text of ≤ {max_length} chars."


def _bssids(value: Any) -> str | None:
    if not isinstance(value, list) or len(value) > 32 or not all(isinstance(b, str) and BSSID.match(b)
                                                                 for b in value):
        return "Must be a list of at most 32 BSSIDs like aa:bb:cc:dd:ee:ff."
    return None


# What the agent reads from the shadow (and GET /devices/me/ reports as its config).
CONFIG_KEYS: dict[str, Callable[[Any], str | None]] = {
    "allowed_bssids": _bssids,
    "batch_size": _number(1, 500, integer=True),
    "batch_timeout_seconds": _number(1, 86400, integer=False),
    "heartbeat_interval_seconds": _number(10, 86400, integer=False),
    "underage_age": _number(0, 99, integer=True),
    "cpu_temp_threshold": _number(-50, 150, integer=False),
    "battery_warning_percent": _number(0, 100, integer=True),
    "rssi_breach_dbm": _number(-120, 0, integer=True),
    "location_label": _text(100),
    "room_id": _text(40),
}


def delta_of(desired: dict, reported: dict) -> dict:
    """What desired asks for that reported does not show (nested objects compared key by key)."""
    delta = {}
    for key, want in desired.items():
        have = reported.get(key, _MISSING)
        if isinstance(want, dict) and isinstance(have, dict):
            inner = delta_of(want, have)
            if inner:
                delta[key] = inner
        elif want != have:
            delta[key] = want
    return delta


def _merge(document: dict, patch: dict) -> dict:
    merged = dict(document)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check_keys(value: Any, path: str, depth: int, errors: dict) -> None:
    if not isinstance(value, (dict, list)):
        return
    if depth > MAX_DEPTH:
        errors[path[:120]] = [f"Nested deeper than {MAX_DEPTH} levels."]
        return
    if isinstance(value, list):
        for item in value:
            _check_keys(item, path, depth + 1, errors)
        return
    for key, item in value.items():
        if not KEY.match(str(key)):
            errors[f"{path}.{key}"[:120]] = ["Keys are letters, digits and _ (at most 64), starting with a letter."]
        else:
            _check_keys(item, f"{path}.{key}", depth + 1, errors)


def validate_patch(patch: Any, *, side: str) -> dict:
    """A merge patch for one document: an object, plain keys, known config keys well-typed."""
    if not isinstance(patch, dict):
        raise ApplicationError(f"'{side}' must be a JSON object.", fields={side: ["Must be an object."]})
    refuse_personal_data(patch)
    errors: dict = {}
    _check_keys(patch, side, 1, errors)
    for key, check in CONFIG_KEYS.items():
        if patch.get(key) is not None:
            problem = check(patch[key])
            if problem:
                errors[f"{side}.{key}"] = [problem]
    if errors:
        raise ApplicationError("The shadow document is invalid.", fields=errors)
    return patch


def check_size(document: dict, side: str) -> None:
    size = len(json.dumps(document, separators=(",", ":")).encode())
    if size > MAX_DOCUMENT_BYTES:
        raise ShadowTooLarge(f"The {side} document would be {size} bytes; at most {MAX_DOCUMENT_BYTES} are kept.",
                             fields={side: [f"{size} bytes > {MAX_DOCUMENT_BYTES}."]})


def _stamp(metadata: dict, side: str, keys: set[str], document: dict, now) -> dict:
    stamped = {name: dict(metadata.get(name) or {}) for name in ("desired", "reported")}
    for key in keys:
        if key in document:
            stamped[side][key] = now.isoformat()
        else:
            stamped[side].pop(key, None)
    return stamped


ShadowHandler = Callable[[Device], None]
_handlers: list[ShadowHandler] = []


def register_shadow_handler(handler: ShadowHandler) -> None:
    """Higher apps (the drift rule) react to a shadow change inside its transaction."""
    if handler not in _handlers:
        _handlers.append(handler)


def _apply(*, device: Device, side: str, patch: dict, expected_version: int | None) -> tuple[Device, set[str]]:
    locked = Device.objects.select_for_update().select_related("tenant", "site").get(pk=device.pk)
    if expected_version is not None and expected_version != locked.shadow_version:
        raise VersionConflict(f"The shadow is at version {locked.shadow_version}, not {expected_version}; "
                              "read it again and retry.", fields={"version": [str(locked.shadow_version)]})
    current = locked.desired_state if side == "desired" else locked.reported_state
    document = _merge(current, patch)
    changed = {key for key in set(current) | set(document) if current.get(key, _MISSING) != document.get(key,
                                                                                                          _MISSING)}
    if not changed:
        return locked, changed
    check_size(document, side)
    now = timezone.now()
    setattr(locked, f"{side}_state", document)
    delta = delta_of(locked.desired_state, locked.reported_state)
    if not delta:
        pending = None
    elif side == "desired":
        pending = now  # a new wish: the drift clock starts again
    else:
        pending = locked.shadow_pending_since or now
    metadata = _stamp(locked.shadow_metadata, side, changed, document, now)
    Device.objects.filter(pk=locked.pk).update(**{f"{side}_state": document}, shadow_metadata=metadata,
                                               shadow_version=F("shadow_version") + 1, shadow_pending_since=pending)
    locked.refresh_from_db(fields=["shadow_version", "shadow_metadata", "shadow_pending_since", "desired_state",
                                   "reported_state"])
    for handler in _handlers:
        handler(locked)
    return locked, changed


def shadow_desired_update(*, device: Device, actor: Actor, patch: dict, expected_version: int | None = None) -> Device:
    """Staff's wish, merged into desired; the device hears of it in its next heartbeat
    answer (REST) or within half a second on its delta topic (MQTT: the bridge polls)."""
    patch = validate_patch(patch, side="desired")
    with transaction.atomic():
        locked, changed = _apply(device=device, side="desired", patch=patch, expected_version=expected_version)
        if changed:
            audit_record(tenant=locked.tenant, actor=actor, action="device.shadow_desired_changed",
                         target_type="device", target_id=locked.public_id,
                         details={"keys": sorted(changed), "version": locked.shadow_version})
    return locked


def shadow_desired_replace(*, device: Device, actor: Actor, desired: dict,
                           expected_version: int | None = None) -> Device:
    """The whole desired document as an editor (the admin) shows it: keys left out are removed."""
    patch = {key: None for key in device.desired_state if key not in desired} | desired
    return shadow_desired_update(device=device, actor=actor, patch=patch, expected_version=expected_version)


def shadow_reported_update(*, device: Device, patch: dict, expected_version: int | None = None) -> Device:
    """What the device says it now has (REST or MQTT). Not audited: it is a report, like a heartbeat."""
    patch = validate_patch(patch, side="reported")
    with transaction.atomic():
        locked, _changed = _apply(device=device, side="reported", patch=patch, expected_version=expected_version)
    return locked


def shadow_document(device: Device) -> dict:
    return {
        "device": device.public_id,
        "version": device.shadow_version,
        "desired": device.desired_state,
        "reported": device.reported_state,
        "delta": delta_of(device.desired_state, device.reported_state),
        "metadata": {"desired": (device.shadow_metadata or {}).get("desired", {}),
                     "reported": (device.shadow_metadata or {}).get("reported", {})},
        "pending_since": device.shadow_pending_since.isoformat() if device.shadow_pending_since else None,
        "drifting": device.shadow_drift_at is not None,
    }


def device_config_overrides(device: Device) -> dict[str, Any]:
    """The config keys staff set in this device's desired document (they win over the site's)."""
    return {key: device.desired_state[key] for key in CONFIG_KEYS if key in device.desired_state}
