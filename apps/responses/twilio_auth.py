"""Twilio's signature on the requests it makes to us (inbound messages, call TwiML, key
presses, call status), checked against the URL Twilio called.

Twilio signs the public URL it was given, not whatever Host a proxy passes on: the URL is
rebuilt from `TOCSIN_PUBLIC_BASE_URL` and the request's path and query.
"""

from __future__ import annotations

from django.conf import settings

from apps.notifications.receipts import twilio_signature_is_valid


def signed_by_twilio(request) -> tuple[bool, dict]:
    """(valid, form fields)."""
    params = {key: request.POST.get(key) for key in request.POST}
    url = f"{settings.TOCSIN_PUBLIC_BASE_URL.rstrip('/')}{request.get_full_path()}"
    signature = request.headers.get("X-Twilio-Signature", "")
    return twilio_signature_is_valid(url=url, params=params, signature=signature), params
