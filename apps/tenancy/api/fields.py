"""Serializer fields that can only ever point inside the caller's tenant."""

from __future__ import annotations

from rest_framework import serializers


class TenantScopedRelatedField(serializers.SlugRelatedField):
    """Refers to a tenant-owned row by public id; ids of other tenants, and of sites outside
    the caller's scope (the view's `scope` in the context), are 'not found'."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "public_id")
        super().__init__(**kwargs)

    def get_queryset(self):
        tenant = self.context.get("tenant")
        queryset = super().get_queryset()
        if tenant is None:
            return queryset.none()
        queryset = queryset.filter(tenant=tenant)
        scope = self.context.get("scope")
        return queryset if scope is None else scope.filter(queryset)

    default_error_messages = {
        "does_not_exist": "No such object.",
        "invalid": "Invalid value.",
    }
