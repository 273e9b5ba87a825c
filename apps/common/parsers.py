"""The API's JSON parser: what a JSON body may be before any view or serializer sees it.

Invariant: a parsed body is nested at most `MAX_JSON_DEPTH` deep, holds no NUL and no
unpaired surrogate in any key or string, and no number that no column can hold (an
integer past int8, `1e999`, NaN, Infinity). Anything else is a 400 naming the problem:
never a RecursionError from a deep body, never a database error from a value PostgreSQL
refuses. It is the default parser, so every DRF view, authenticated or not, has it.
"""

from __future__ import annotations

import json
import math

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from apps.common.limits import INT8_MAX, INT8_MIN, NUL_MESSAGE

MAX_JSON_DEPTH = 64
NUMBER_MESSAGE = ("Numbers must be finite, and whole numbers within the 64-bit range "
                  f"({INT8_MIN} to {INT8_MAX}).")
SURROGATE_MESSAGE = "Unpaired surrogates (\\ud800-\\udfff) are not valid text."
DEPTH_MESSAGE = f"Nested deeper than {MAX_JSON_DEPTH} levels."


class JsonBodyRefused(ValueError):
    """A body that is valid JSON but not acceptable input."""


def _bounded_int(text: str) -> int:
    value = int(text)
    if not INT8_MIN <= value <= INT8_MAX:
        raise JsonBodyRefused(NUMBER_MESSAGE)
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonBodyRefused(NUMBER_MESSAGE)
    return value


def _no_constants(name: str):
    raise JsonBodyRefused(NUMBER_MESSAGE)


def loads(text: str):
    """Parse JSON text under the limits above; raises ValueError (JsonBodyRefused for
    the limits) or a DRF ValidationError naming the path of a refused string."""
    try:
        data = json.loads(text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constants)
    except RecursionError:
        raise JsonBodyRefused(DEPTH_MESSAGE) from None
    # Cheap checks on the text decide whether the walks are needed at all: the depth
    # can't pass the number of brackets, and JSON text can only carry a NUL or a
    # surrogate as a \u escape.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        _check_depth(data)
    if "\\u" in text:
        _check_text(data)
    return data


def _check_depth(data) -> None:
    """Without recursion: the body may be as deep as the parser got."""
    pending = [(data, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise JsonBodyRefused(DEPTH_MESSAGE)
        for value in node.values() if isinstance(node, dict) else node:
            if isinstance(value, (dict, list)):
                pending.append((value, depth + 1))


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return NUL_MESSAGE
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def _check_text(data) -> None:
    """Every key and string (the depth is checked by then); the error names the path."""
    pending = [(data, "")]
    while pending:
        node, path = pending.pop()
        if isinstance(node, str):
            problem = _text_problem(node)
            if problem:
                raise exceptions.ValidationError({_printable(path) or "non_field_errors": [problem]})
        elif isinstance(node, dict):
            for key, value in node.items():
                child = f"{path}.{key}" if path else key
                problem = _text_problem(key)
                if problem:
                    raise exceptions.ValidationError({_printable(child): [problem]})
                pending.append((value, child))
        elif isinstance(node, list):
            pending.extend((value, f"{path}[{index}]") for index, value in enumerate(node))


def _printable(path: str) -> str:
    """A field path fit to echo back: the refused characters themselves are shown escaped."""
    return path.encode("unicode_escape", "backslashreplace").decode("ascii")[:200]


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser with the limits of this module."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return loads(stream.read().decode(encoding))
        except JsonBodyRefused as exc:
            raise exceptions.ParseError(f"JSON body refused - {exc}") from None
        except ValueError as exc:  # malformed JSON, or bytes that aren't text
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
