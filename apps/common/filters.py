"""The default filter backend: django-filter, with the limits of `apps.common.limits`.

Invariant: a filter value reaches the query only when PostgreSQL can compare it as sent:
an instant within 2000..2100 with an offset within ±14:00 (`?since=...+16:00` is refused,
not a DataError), a number within the 64-bit range. It holds for every filterset, declared
or generated from `filterset_fields`, because it is checked on the cleaned values here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions

from apps.common.limits import instant_problem, number_problem


def _value_problem(value) -> str | None:
    if isinstance(value, datetime):
        return instant_problem(value)
    if isinstance(value, Decimal):
        return number_problem(int(value)) if value.is_finite() else "Must be a finite number."
    if isinstance(value, (int, float)):
        return number_problem(value)
    return None


class BoundedFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise utils.translate_validation(filterset.errors)
        errors = {}
        for name, value in filterset.form.cleaned_data.items():
            if isinstance(value, slice):  # range filters
                values = [value.start, value.stop]
            else:
                values = value if isinstance(value, (list, tuple)) else [value]
            for item in values:
                problem = _value_problem(item)
                if problem:
                    errors[name] = [problem]
        if errors:
            raise exceptions.ValidationError(errors)
        return filterset.qs
