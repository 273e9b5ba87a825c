"""The endpoints that answers arrive at. Thin: verify, hand to the medium's module, answer.

Forged or unsigned requests get 403 without detail; malformed ones a 400; nothing from
outside can cause a 500 (each module bounds and checks what it reads).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from twilio.twiml.messaging_response import MessagingResponse

from apps.common.errors import error_body
from apps.notifications.receipts import call_status_record
from apps.responses import email_links, slack, sms, voice
from apps.responses.twilio_auth import signed_by_twilio

TWIML = "application/xml"


def _forbidden() -> JsonResponse:
    return JsonResponse(error_body("forbidden", "You do not have permission to do this."), status=403)


def _bad(message: str) -> JsonResponse:
    return JsonResponse(error_body("invalid", message), status=400)


@csrf_exempt  # authenticated by Twilio's signature instead
@require_POST
def twilio_inbound(request):
    valid, params = signed_by_twilio(request)
    if not valid:
        return _forbidden()
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not sid.startswith(("SM", "MM")) or len(sid) > 64 or not params.get("From"):
        return _bad("MessageSid and From are required.")
    text = sms.answer_sms(from_number=params["From"], body=params.get("Body") or "", message_sid=sid)
    reply = MessagingResponse()
    reply.message(text)
    return HttpResponse(str(reply), content_type=TWIML)


@csrf_exempt
@require_POST
def twilio_voice(request, alert_id: str):
    valid, params = signed_by_twilio(request)
    if not valid:
        return _forbidden()
    return HttpResponse(voice.call_twiml(alert_public_id=alert_id, to_number=params.get("To") or ""),
                        content_type=TWIML)


@csrf_exempt
@require_POST
def twilio_voice_gather(request, alert_id: str):
    valid, params = signed_by_twilio(request)
    if not valid:
        return _forbidden()
    return HttpResponse(voice.gather_twiml(alert_public_id=alert_id, to_number=params.get("To") or "",
                                           digits=params.get("Digits") or ""), content_type=TWIML)


@csrf_exempt
@require_POST
def twilio_voice_status(request):
    valid, params = signed_by_twilio(request)
    if not valid:
        return _forbidden()
    sid = params.get("CallSid") or ""
    if not sid.startswith("CA") or len(sid) > 64:
        return _bad("CallSid is missing or malformed.")
    call_status_record(call_sid=sid, status=(params.get("CallStatus") or "").lower()[:20],
                       answered_by=params.get("AnsweredBy") or "")
    return HttpResponse(status=204)


@csrf_exempt  # authenticated by Slack's signature instead
@require_POST
def slack_interactivity(request):
    try:
        body = request.body  # the signature covers the raw body: Slack posts it form-encoded
    except RawPostDataException:  # a multipart body, read already: not from Slack
        return _forbidden()
    with transaction.atomic():
        if not slack.request_is_authentic(body=body, timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
                                          signature=request.headers.get("X-Slack-Signature", "")):
            return _forbidden()
        press = slack.parse_press(_form_field(body, "payload"))
        if press is None:
            return HttpResponse(status=200)  # another kind of interaction: nothing of ours to do
        slack.handle_press(press)
    return HttpResponse(status=200)


def _form_field(body: bytes, name: str) -> str:
    try:
        values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=20).get(name) or [""]
    except ValueError:  # more fields than any Slack request has
        return ""
    return values[-1]


@never_cache
@csrf_exempt  # the link's signed token is the credential: a forged POST would need it, and then needs nothing else
@require_http_methods(["GET", "POST"])
def email_link(request, token: str):
    """GET shows what the link would do; only the POST from that page acts."""
    if request.method == "GET":
        view = email_links.inspect_link(token)
        confirm = view.status == 200
    else:
        view, confirm = email_links.follow_link(token), False
    context = {"alert": view.alert, "message": view.message, "confirm": confirm, "action": view.action,
               "person": email_links.person_label(view) if confirm else "",
               "board_url": f"{settings.TOCSIN_PUBLIC_BASE_URL.rstrip('/')}/board/"
                            + (f"?alert={view.alert.public_id}" if view.alert else "")}
    response = render(request, "responses/email_link.html", context, status=view.status)
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response
