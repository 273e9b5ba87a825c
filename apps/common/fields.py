"""Serializer fields that hold the limits of `apps.common.limits`.

Invariant: what these fields accept can be stored and compared by PostgreSQL as sent:
instants within 2000..2100 with an offset within ±14:00, details objects of at most
8 KiB. DRF's own fields accept year 1 and objects of any size.
"""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from apps.common.limits import details_problem, instant_problem


class BoundedDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value):
        try:
            raw = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:  # well-formed but impossible, e.g. an offset of +99:00
            raw = None
        if raw is not None:
            problem = instant_problem(raw)
            if problem:
                raise serializers.ValidationError(problem)
        parsed = super().to_internal_value(value)
        problem = instant_problem(parsed)
        if problem:
            raise serializers.ValidationError(problem)
        return parsed


class DetailsField(serializers.DictField):
    """A free-form JSON object (an alert's details), capped in size."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        problem = details_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value
