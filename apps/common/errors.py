"""One error shape for the whole API: `{"error": {"code", "message", "fields"}}`.

DRF's own exceptions, Django's 404/permission errors, deletes blocked by protected
foreign keys (409, naming what blocks them) and our `ApplicationError`s all pass through
`api_exception_handler`; anything unexpected becomes a JSON 500 through
`ApiErrorMiddleware`, never an HTML page.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A business rule said no. Services raise it; the API turns it into a 4xx."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class ForbiddenError(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


def error_body(code: str, message: str, fields: Any = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields}}


_GENERIC_MESSAGES = {
    status.HTTP_401_UNAUTHORIZED: "Authentication required.",
    status.HTTP_403_FORBIDDEN: "You do not have permission to do this.",
    status.HTTP_404_NOT_FOUND: "Not found.",
}


def blocked_delete_error(exc: ProtectedError | RestrictedError) -> ConflictError:
    """A delete refused by the database's protected/restricted foreign keys, as a 409 that
    says what still refers to the object (counted by kind; no names, which may be personal)."""
    blockers = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
    counts: dict[str, int] = {}
    for blocker in blockers:
        label = str(blocker._meta.verbose_name_plural)
        counts[label] = counts.get(label, 0) + 1
    listed = ", ".join(f"{count} {label}" for label, count in sorted(counts.items()))
    return ConflictError(f"Cannot delete: still referred to by {listed}. Remove or move those first.",
                         code="delete_blocked", fields={"blocked_by": counts})


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, (ProtectedError, RestrictedError)):
        exc = blocked_delete_error(exc)
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("payload_too_large", "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(error_body("invalid", "The request body is invalid.", fields),
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", "The request body is invalid.", fields)
        return response

    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if not isinstance(code, str):
        code = "error"
    # Auth failures say nothing about why: a probe learns no more than "no".
    if response.status_code in _GENERIC_MESSAGES:
        message = _GENERIC_MESSAGES[response.status_code]
    else:
        message = str(getattr(exc, "detail", "")) or "Request failed."
    response.data = error_body(code, message)
    return response
