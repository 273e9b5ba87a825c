from __future__ import annotations

from rest_framework import mixins, serializers, viewsets

from apps.audit.models import AuditAnchor, AuditEntry
from apps.common.pagination import DefaultCursorPagination
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import MANAGER_ROLES


class AuditEntrySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")

    class Meta:
        model = AuditEntry
        fields = ["id", "seq", "created_at", "actor_type", "actor_id", "actor_label", "action",
                  "target_type", "target_id", "request_id", "details", "prev_hash", "hash"]


class AuditCursorPagination(DefaultCursorPagination):
    ordering = "-seq"


class AuditEntryViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """The tenant's audit log, newest first: owners and admins only."""

    serializer_class = AuditEntrySerializer
    queryset = AuditEntry.objects.all()
    read_roles = MANAGER_ROLES
    whole_tenant_only = True  # the log records every site's changes
    filterset_fields = ["action", "actor_type", "target_type", "target_id"]
    pagination_class = AuditCursorPagination


class AuditAnchorSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")

    class Meta:
        model = AuditAnchor
        fields = ["id", "kind", "seq", "entry_hash", "created_at", "key_id", "signature"]


class AuditAnchorViewSet(TenantScopedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The tenant's signed checkpoints of its audit chain, newest first.

    A tenant that keeps copies holds evidence the platform cannot rewrite later: an entry at
    or before a downloaded checkpoint that no longer matches it was changed.
    """

    serializer_class = AuditAnchorSerializer
    queryset = AuditAnchor.objects.all()
    read_roles = MANAGER_ROLES
    whole_tenant_only = True
    pagination_class = AuditCursorPagination
