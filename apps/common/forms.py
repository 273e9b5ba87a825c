"""Form fields with the limits of `apps.common.parsers` and `apps.common.limits`.

Invariant: a JSON value typed into a form (the admin's JSON fields) is held to what the
API's parser holds a JSON body to, so no depth, NUL or number that the API refuses with
400 can reach the database, or a RecursionError, through the admin either.
"""

from __future__ import annotations

import json

from django import forms
from django.forms.fields import InvalidJSONInput
from rest_framework import exceptions

from apps.common.parsers import loads


class BoundedJSONFormField(forms.JSONField):
    def to_python(self, value):
        if self.disabled or value in self.empty_values or isinstance(value, (list, dict, int, float)):
            return super().to_python(value)
        try:
            loads(value)
        except exceptions.ValidationError as exc:
            raise forms.ValidationError(_messages(exc.detail), code="invalid") from None
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError):  # Django's own message for malformed JSON
                return super().to_python(value)
            raise forms.ValidationError(str(exc), code="invalid") from None
        return super().to_python(value)

    def bound_data(self, data, initial):
        """What the form shows again after an error: refused text as typed, unparsed."""
        if self.disabled or data is None:
            return super().bound_data(data, initial)
        try:
            loads(data)
        except (ValueError, exceptions.ValidationError):
            return InvalidJSONInput(data)
        return super().bound_data(data, initial)


def _messages(detail) -> list[str]:
    return [f"{path}: {message}" for path, messages in detail.items() for message in messages]
