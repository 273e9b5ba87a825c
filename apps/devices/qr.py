"""QR codes for setup tokens: `{"setup_token": ..., "location_id": ...}` (and `"location_label"`
when the token names the device's place) as PNG, SVG or text."""

from __future__ import annotations

import base64
import io
import json

import segno


def setup_payload(*, token: str, location_id: str, location_label: str = "") -> str:
    payload = {"setup_token": token, "location_id": location_id}
    if location_label:
        payload["location_label"] = location_label
    return json.dumps(payload, separators=(",", ":"))


def _code(payload: str) -> segno.QRCode:
    return segno.make_qr(payload, error="m")


def qr_svg(payload: str) -> str:
    buffer = io.BytesIO()
    _code(payload).save(buffer, kind="svg", scale=6, xmldecl=False, svgns=True)
    return buffer.getvalue().decode()


def qr_png(payload: str) -> bytes:
    buffer = io.BytesIO()
    _code(payload).save(buffer, kind="png", scale=6)
    return buffer.getvalue()


def qr_png_data_uri(payload: str) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(payload)).decode()


def qr_terminal(payload: str) -> str:
    buffer = io.StringIO()
    _code(payload).terminal(out=buffer, compact=True)
    return buffer.getvalue()
