"""Cursor pagination for every list.

Invariant: a cursor's position reaches the query only when the ordering column can hold
it (a timestamp within the instant limits, a number within int8); a forged or mangled
cursor is "Invalid cursor" (404, as DRF answers a cursor it cannot decode), never a
ValueError or a database error.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist, ValidationError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from apps.common.limits import instant_problem, number_problem


class DefaultCursorPagination(CursorPagination):
    """Cursor pagination: stable under inserts, and no COUNT(*) over big tables."""

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    ordering = "-created_at"

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and not self._position_fits(cursor.position):
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def _position_fits(self, position: str) -> bool:
        try:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        except FieldDoesNotExist:  # an annotation: left to the database, as before
            return True
        try:
            value = field.to_python(position)
        except (ValidationError, ValueError, TypeError, OverflowError):
            return False
        problem = instant_problem(value) if hasattr(value, "utcoffset") else number_problem(value)
        return problem is None
