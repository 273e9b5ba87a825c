"""Inbound provider callbacks under /hooks/. Forged requests are refused without detail."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.common.errors import error_body
from apps.notifications.receipts import sms_status_record, twilio_signature_is_valid

TWILIO_STATUS_PATH = "/hooks/twilio/status/"


@csrf_exempt  # authenticated by Twilio's HMAC signature instead
@require_POST
def twilio_status(request):
    params = {key: request.POST.get(key) for key in request.POST}
    # Twilio signs the URL it called: our public URL, not whatever Host a proxy passed on.
    url = f"{settings.TOCSIN_PUBLIC_BASE_URL.rstrip('/')}{TWILIO_STATUS_PATH}"
    if not twilio_signature_is_valid(url=url, params=params, signature=request.headers.get("X-Twilio-Signature", "")):
        return JsonResponse(error_body("forbidden", "You do not have permission to do this."), status=403)
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not sid.startswith(("SM", "MM")) or len(sid) > 64:
        return JsonResponse(error_body("invalid", "MessageSid is missing or malformed."), status=400)
    sms_status_record(message_sid=sid, status=(params.get("MessageStatus") or "").lower()[:20],
                         error_code=params.get("ErrorCode") or "")
    return HttpResponse(status=204)
