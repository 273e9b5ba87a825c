"""Request id, refusal of unstorable text, and JSON-errors middleware.

A database that is unreachable or restarting answers 503 with `Retry-After` on every
path (JSON on the API), never a 500: the request was refused whole, nothing was half
written, and a client (the device agent's outbox) resends it later.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError

from apps.common.errors import error_body
from apps.common.limits import NUL_MESSAGE
from apps.common.request_context import clean_request_id, reset_request_id, set_request_id

logger = logging.getLogger("tocsin.request")

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Gives every request an id, exposes it in the response, and in every log line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = clean_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path.startswith("/hooks/")


FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefuseNulMiddleware:
    """A NUL in the path, the query string, a header (cookies included) or a form field of
    an API or provider-webhook request is refused with 400 before anything looks it up.

    PostgreSQL can neither store nor compare text holding NUL, so any lookup with one (a
    public id, a filter, a session key, a tenant header) would fail in the database. JSON
    bodies are checked by the JSON parser, admin forms by Django's own form fields. Form
    bodies of provider-webhook requests (the API takes only JSON) are read here, so Django's refusals
    of them (DATA_UPLOAD_* limits, a broken multipart body) answer here, as JSON too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = _is_api_path(request.path_info)
        try:
            where = _where_nul(request, read_form=request.path_info.startswith("/hooks/"))
        except (SuspiciousOperation, MultiPartParserError) as exc:
            return _refused_body_response(exc)
        if where is None:
            return self.get_response(request)
        if api:
            return JsonResponse(error_body("invalid", "The request is invalid.", {where: [NUL_MESSAGE]}), status=400)
        return HttpResponseBadRequest(NUL_MESSAGE)


def _where_nul(request, *, read_form: bool) -> str | None:
    if "\x00" in request.path_info:
        return "path"
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        return "query"
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return "headers"
    if read_form and request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
        form = request.POST
        for key in form:
            if "\x00" in key or any("\x00" in value for value in form.getlist(key)):
                return "body"
    return None


def _refused_body_response(exc: Exception) -> JsonResponse:
    """Django's refusals of a request (DATA_UPLOAD_MAX_MEMORY_SIZE, ..._NUMBER_FIELDS, a
    malformed multipart body, a disallowed host) as JSON."""
    if isinstance(exc, RequestDataTooBig):
        return _json_error_for(413)
    # Django's own wording for the field limits; other refusals may quote the input.
    message = str(exc) if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)) else "The request is invalid."
    return JsonResponse(error_body("invalid", message), status=400)


class ApiErrorMiddleware:
    """API clients get JSON for every failure, including 404s of unknown URLs and 500s."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            _is_api_path(request.path)
            and response.status_code in _STATUS_CODES
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _json_error_for(response.status_code)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            return _database_unavailable(request, exception)
        if not _is_api_path(request.path):
            return None
        # What Django itself answers with 4xx (django.core.handlers.exception) stays 4xx here.
        if isinstance(exception, (SuspiciousOperation, MultiPartParserError, BadRequest)):
            return _refused_body_response(exception)
        if isinstance(exception, Http404):
            return _json_error_for(404)
        if isinstance(exception, PermissionDenied):
            return _json_error_for(403)
        logger.exception("unhandled error", extra={"path": request.path, "method": request.method})
        return _json_error_for(500)


def _database_unavailable(request, exception) -> HttpResponse:
    logger.warning("database unavailable; answered 503", extra={
        "path": request.path, "method": request.method, "error": type(exception).__name__})
    retry_after = str(settings.TOCSIN_DATABASE_RETRY_AFTER_SECONDS)
    if _is_api_path(request.path):
        response = JsonResponse(error_body("unavailable", "The service is briefly unavailable; retry later."),
                                status=503)
    else:
        response = HttpResponse("Tocsin is briefly unavailable; retry in a few seconds.\n", status=503,
                                content_type="text/plain")
    response["Retry-After"] = retry_after
    return response


_STATUS_CODES = {
    400: ("invalid", "The request is invalid."),
    403: ("forbidden", "You do not have permission to do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("payload_too_large", "The request body is too large."),
    500: ("server_error", "Something went wrong on our side; it has been logged."),
}


def _json_error_for(status_code: int) -> JsonResponse:
    code, message = _STATUS_CODES[status_code]
    return JsonResponse(error_body(code, message), status=status_code)

