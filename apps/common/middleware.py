"""Request id and JSON-errors middleware.

A database that is unreachable or restarting answers 503 with `Retry-After` on every
path (JSON on the API), never a 500: the request was refused whole, nothing was half
written, and a client (the device agent's outbox) resends it later.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

from apps.common.errors import error_body
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


class ApiErrorMiddleware:
    """API clients get JSON for every failure, including 404s of unknown URLs and 500s."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            _is_api_path(request.path)
            and response.status_code in (404, 405, 413, 500)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _json_error_for(response.status_code)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            return _database_unavailable(request, exception)
        if not _is_api_path(request.path):
            return None
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
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("payload_too_large", "The request body is too large."),
    500: ("server_error", "Something went wrong on our side; it has been logged."),
}


def _json_error_for(status_code: int) -> JsonResponse:
    code, message = _STATUS_CODES[status_code]
    return JsonResponse(error_body(code, message), status=status_code)

