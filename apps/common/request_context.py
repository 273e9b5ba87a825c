"""The request id, carried from an HTTP request into the log lines and tasks it causes.

A context variable rather than a thread-local so that it also follows the work into
async code (the stream process) and is reset cleanly between requests.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("tocsin_request_id", default=None)

# Ids that arrive from outside (X-Request-ID) are accepted only in this shape, so a
# client cannot inject log-breaking text through the header.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(candidate: str | None) -> str:
    """The caller's id when it is well formed, otherwise a fresh one."""
    if candidate and _VALID_REQUEST_ID.match(candidate):
        return candidate
    return new_request_id()


def get_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None):
    """Set the id for the current context; returns a token for `reset_request_id`."""
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)
