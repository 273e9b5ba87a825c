"""Naming many devices at once from a CSV: `label, hardware_id, allowed_bssids` per line
(a 200-room hotel's tablets), from the admin's *Import rooms from CSV* page or the API.

Invariants:
- One service for both paths, validating every line on its own: a bad line (unknown or
  foreign hardware id, a label that is too long or personal, a malformed BSSID, a hardware
  id given twice) is reported with its line number and changes nothing, and every good
  line is stored: each line is written in its own savepoint, so one failing write cannot
  undo the others.
- Only devices of the importing tenant (and of the chosen site, when one is chosen) are
  touched; a hardware id of another tenant answers exactly like an unknown one.
- Bounded: at most MAX_BYTES of text and MAX_ROWS lines, refused whole beyond that.
- Audited once per import (counts and the devices changed), not once per line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.db import DataError, IntegrityError, transaction

from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError
from apps.devices.locations import bssid_problems, label_problem, split_bssids
from apps.devices.models import Device
from apps.tenancy.models import Site, Tenant

MAX_BYTES = 512 * 1024
MAX_ROWS = 5000
_HEADER_NAMES = {"label", "location_label", "room", "hardware_id", "hardware id", "allowed_bssids",
                 "allowed bssids", "bssids"}


@dataclass
class ImportResult:
    updated: list[str] = field(default_factory=list)  # device public ids
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)  # {"line", "hardware_id", "errors"}

    @property
    def summary(self) -> dict:
        return {"updated": len(self.updated), "unchanged": self.unchanged, "failed": len(self.errors)}


@dataclass(frozen=True)
class _Row:
    line: int
    label: str
    hardware_id: str
    bssids: list[str] | None  # None: the cell was empty, the device's list is kept


def _rows(text: str) -> list[tuple[int, list[str]]]:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ApplicationError(f"The file is larger than {MAX_BYTES // 1024} KiB; split it.",
                               code="payload_too_large", fields={"csv": ["too large"]})
    if "\x00" in text:
        raise ApplicationError("The file holds a NUL character; is it a CSV?", fields={"csv": ["not text"]})
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows = []
    try:
        for cells in reader:
            if len(rows) >= MAX_ROWS + 1:
                raise ApplicationError(f"At most {MAX_ROWS} lines per import; split the file.",
                                       fields={"csv": ["too many lines"]})
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise ApplicationError(f"Line {reader.line_num}: not valid CSV ({exc}).", fields={"csv": [str(exc)]}) from exc
    return rows


def _parse(line: int, cells: list[str]) -> tuple[_Row | None, list[str]]:
    cells = [cell.strip() for cell in cells]
    if len(cells) < 2 or len(cells) > 3:
        return None, ["Expected label, hardware_id and optionally allowed_bssids."]
    label = " ".join(cells[0].split())
    hardware_id = cells[1]
    problems = []
    if not label:
        problems.append("The label is empty.")
    elif problem := label_problem(label):
        problems.append(f"label: {problem}")
    if not hardware_id or len(hardware_id) > 128:
        problems.append("hardware_id: required, at most 128 characters.")
    bssids = split_bssids(cells[2]) if len(cells) == 3 and cells[2] else None
    if bssids is not None:
        problems.extend(f"allowed_bssids: {problem}" for problem in bssid_problems(bssids))
        bssids = list(dict.fromkeys(value.lower() for value in bssids))
    return (None if problems else _Row(line, label, hardware_id, bssids)), problems


def device_labels_import(*, tenant: Tenant, csv_text: str, actor: Actor, site: Site | None = None) -> ImportResult:
    """Set each listed device's location label (and allowed BSSIDs, when the cell is not empty)."""
    if site is not None and site.tenant_id != tenant.pk:
        raise ApplicationError("That site belongs to another tenant.", fields={"site": ["No such site."]})
    result, parsed, seen = ImportResult(), [], {}
    for line, cells in _rows(csv_text):
        if not any(cell.strip() for cell in cells):
            continue
        if not parsed and not result.errors and cells and cells[0].strip().lower() in _HEADER_NAMES:
            continue  # the header line
        row, problems = _parse(line, cells)
        if row is not None and row.hardware_id in seen:
            row, problems = None, [f"hardware_id also on line {seen[row.hardware_id]}."]
        if row is None:
            result.errors.append({"line": line, "hardware_id": (cells[1].strip()[:128] if len(cells) > 1 else ""),
                                  "errors": problems})
            continue
        seen[row.hardware_id] = line
        parsed.append(row)
    devices = Device.objects.filter(tenant=tenant, archived_at__isnull=True,
                                    hardware_id__in=[row.hardware_id for row in parsed])
    if site is not None:
        devices = devices.filter(site=site)
    by_hardware = {device.hardware_id: device for device in devices}
    with transaction.atomic():
        for row in parsed:
            _apply(row, by_hardware.get(row.hardware_id), result, site)
        audit_record(tenant=tenant, actor=actor, action="device.labels_imported", target_type="site" if site else "",
                     target_id=site.public_id if site else "", details={**result.summary, "devices": result.updated})
    return result


def _apply(row: _Row, device: Device | None, result: ImportResult, site: Site | None) -> None:
    if device is None:
        where = f"at {site.name}" if site is not None else "in this tenant"
        result.errors.append({"line": row.line, "hardware_id": row.hardware_id,
                              "errors": [f"No device with this hardware id {where} (enrol it first)."]})
        return
    changes = {}
    if row.label != device.location_label:
        changes["location_label"] = row.label
    if row.bssids is not None and row.bssids != device.desired_state.get("allowed_bssids", []):
        changes["desired_state"] = {**device.desired_state, "allowed_bssids": row.bssids}
    if not changes:
        result.unchanged += 1
        return
    try:
        with transaction.atomic():
            Device.objects.filter(pk=device.pk).update(**changes)
    except (IntegrityError, DataError):  # a database refusal of this line only; the others stand
        result.errors.append({"line": row.line, "hardware_id": row.hardware_id, "errors": ["Could not be saved."]})
        return
    result.updated.append(device.public_id)
