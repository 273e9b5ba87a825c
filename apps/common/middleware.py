"""Request id, refusal of unstorable text, and JSON-errors middleware."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpResponseBadRequest, JsonResponse

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


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class RefuseNulMiddleware:
    """A NUL in the path, the query string, a header (cookies included) or a form field of
    an API or hook request is refused with 400 before anything looks it up.

    PostgreSQL can neither store nor compare text holding NUL, so any lookup with one (a
    public id, a filter, a session key, a tenant header) would fail in the database. JSON
    bodies are checked by the JSON parser, admin forms by Django's own form fields. Form
    bodies of API and hook requests are read here, so Django's DATA_UPLOAD_* refusals of
    them (too large, too many fields) answer here as JSON too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = _is_api_path(request.path_info)
        try:
            where = _where_nul(request, read_form=api)
        except SuspiciousOperation as exc:
            return _suspicious_response(exc)
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
    if read_form and request.method == "POST" and request.content_type == FORM_CONTENT_TYPE:
        form = request.POST
        for key in form:
            if "\x00" in key or any("\x00" in value for value in form.getlist(key)):
                return "body"
    return None


def _suspicious_response(exc: SuspiciousOperation) -> JsonResponse:
    """Django's refusals of a body (DATA_UPLOAD_MAX_MEMORY_SIZE, ..._NUMBER_FIELDS) as JSON."""
    if isinstance(exc, RequestDataTooBig):
        return _json_error_for(413)
    return JsonResponse(error_body("invalid", str(exc) or "The request is invalid."), status=400)


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
        if not _is_api_path(request.path):
            return None
        if isinstance(exception, SuspiciousOperation):
            return _suspicious_response(exception)
        logger.exception("unhandled error", extra={"path": request.path, "method": request.method})
        return _json_error_for(500)


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

