"""`POST /api/v1/stream/ticket/`: a single-use ticket for one connection to the event stream."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.realtime import services
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import ALL_ROLES


class StreamTicketOutput(serializers.Serializer):
    ticket = serializers.CharField(help_text="Pass as `?ticket=` to the stream; valid once, for `expires_in` s.")
    expires_in = serializers.IntegerField()
    stream_url = serializers.CharField()
    tenant = serializers.CharField()


class StreamTicketApi(TenantScopedViewMixin, APIView):
    """Everyone who may read the tenant's alerts may watch them live: every role, and API
    keys with the `read` scope (minting a ticket changes nothing, whatever the method)."""

    write_roles = ALL_ROLES
    api_key_write_scope = "read"

    @extend_schema(request=None, responses={201: StreamTicketOutput})
    def post(self, request):
        issued = services.stream_ticket_issue(tenant=self.tenant, role=self.tenant_context.role,
                                              principal=request.user, scope=self.scope)
        return Response(StreamTicketOutput(issued).data, status=status.HTTP_201_CREATED,
                        headers={"Cache-Control": "no-store"})
