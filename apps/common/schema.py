"""OpenAPI: every operation documents the error answers it can give, in the house shape.

Invariant: each operation lists 400, 404 and 429 (any request can be malformed, name
something that is not there or be throttled), 401 and 403 when it needs credentials, and
409 and 413 when it changes something; each with the `Error` body of `apps.common.errors`.
Answers an operation already documents are left as they are.
"""

from __future__ import annotations

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error: a code to branch on, a message for people, and field errors for bad input.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "example": "invalid"},
                "message": {"type": "string"},
                "fields": {"type": "object", "nullable": True, "additionalProperties": True,
                           "description": "Field name (or path) to its messages; null when not about fields."},
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

_DESCRIPTIONS = {
    "400": "The request is malformed or invalid; `error.fields` names the fields.",
    "401": "No valid credentials.",
    "403": "The credentials do not allow this.",
    "404": "No such object for this caller (other tenants' objects are not found either).",
    "409": "The change conflicts with the current state (e.g. a delete blocked by what refers to it).",
    "413": "The request body is too large.",
    "429": "Too many requests; retry after `Retry-After` seconds.",
}
_UNSAFE_METHODS = {"post", "put", "patch", "delete"}


def _codes_for(method: str, operation: dict) -> list[str]:
    codes = ["400", "404", "429"]
    if operation.get("security") != [{}]:
        codes += ["401", "403"]
    if method in _UNSAFE_METHODS:
        codes += ["409", "413"]
    return sorted(codes)


def _error_response(code: str) -> dict:
    response = {"description": _DESCRIPTIONS[code],
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}}
    if code == "429":
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
    return response


def document_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code in _codes_for(method, operation):
                operation["responses"].setdefault(code, _error_response(code))
    return result
