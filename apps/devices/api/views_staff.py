"""The people-facing API for devices, setup tokens and API keys."""

from __future__ import annotations

import django_filters
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.audit.services import Actor
from apps.devices import api_keys, qr, room_import, services, setup_tokens
from apps.devices.api import serializers as s
from apps.devices.api.views_fleet import DeviceShadowActions
from apps.devices.models import ApiKey, Device, SetupToken
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import ALL_ROLES, MANAGER_ROLES, OPERATOR_ROLES


class DeviceFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__public_id")
    last_seen_before = django_filters.IsoDateTimeFilter(field_name="last_seen_at", lookup_expr="lt")
    last_seen_after = django_filters.IsoDateTimeFilter(field_name="last_seen_at", lookup_expr="gte")
    never_seen = django_filters.BooleanFilter(field_name="last_seen_at", lookup_expr="isnull")

    class Meta:
        model = Device
        fields = ["kind", "status"]


class DeviceViewSet(DeviceShadowActions, TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Devices of the tenant. Managers rename, move and re-admit; operators (incl. staff) may revoke."""

    serializer_class = s.DeviceSerializer
    queryset = Device.objects.select_related("site")
    filterset_class = DeviceFilter
    # The shadow's PATCH checks for an operator itself (its GET is for every role).
    action_roles = {"revoke": OPERATOR_ROLES, "shadow": ALL_ROLES}

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.device_update(
            device=serializer.instance, actor=Actor.for_principal(self.request.user),
            name=data.get("name"), site=data.get("site"), location_label=data.get("location_label"),
            allowed_bssids=data.get("desired_state", {}).get("allowed_bssids"),
        )

    @extend_schema(request=s.RoomImportInput, responses=s.RoomImportOutput)
    @action(detail=False, methods=["post"], url_path="import")
    def import_rooms(self, request):
        """Name many devices at once (a 200-room hotel): each good line is stored, each bad one is
        answered with its line number and why. Owners and admins."""
        data = s.RoomImportInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        result = room_import.device_labels_import(tenant=self.tenant, csv_text=data.validated_data["csv"],
                                                  site=data.validated_data.get("site"),
                                                  actor=Actor.for_principal(request.user))
        return Response({**result.summary, "errors": result.errors})

    @extend_schema(request=s.RevokeInput, responses=s.DeviceSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, public_id=None):
        device = self.get_object()
        data = s.RevokeInput(data=request.data)
        data.is_valid(raise_exception=True)
        device = services.device_revoke(device=device, actor=Actor.for_principal(request.user),
                                        reason=data.validated_data["reason"],
                                        revoked_by=request.user if not hasattr(request.user, "api_key") else None)
        return Response(s.DeviceSerializer(device).data)

    @extend_schema(request=s.ReadmitInput, responses=s.DeviceSerializer)
    @action(detail=True, methods=["post"])
    def readmit(self, request, public_id=None):
        """Let this device's next enrolment re-key it (replaced hardware, lost key), or bring
        a revoked device back; nothing else can. Managers only."""
        device = self.get_object()
        data = s.ReadmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        device = services.device_readmit(device=device, actor=Actor.for_principal(request.user),
                                         reason=data.validated_data["reason"])
        return Response(s.DeviceSerializer(device).data)


class SetupTokenViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Setup tokens: the raw token and its QR code are in the create response only."""

    serializer_class = s.SetupTokenSerializer
    queryset = SetupToken.objects.select_related("site")
    read_roles = MANAGER_ROLES
    filterset_fields = ["site__public_id"]

    @extend_schema(request=s.SetupTokenCreateInput, responses={201: s.SetupTokenSerializer})
    def create(self, request):
        data = s.SetupTokenCreateInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        issued = setup_tokens.setup_token_create(actor=Actor.for_principal(request.user),
                                                 created_by=request.user, **data.validated_data)
        if request.query_params.get("qr") == "png":
            return HttpResponse(qr.qr_png(issued.qr_payload), content_type="image/png", status=201,
                                headers={"Cache-Control": "no-store"})
        body = dict(s.SetupTokenSerializer(issued.record).data)
        body.update({
            "token": issued.token,
            "qr_payload": issued.qr_payload,
            "qr_svg": qr.qr_svg(issued.qr_payload),
            "qr_png_base64": qr.qr_png_data_uri(issued.qr_payload).split(",", 1)[1],
        })
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses=s.SetupTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, public_id=None):
        token = setup_tokens.setup_token_revoke(setup_token=self.get_object(),
                                                actor=Actor.for_principal(request.user))
        return Response(s.SetupTokenSerializer(token).data)


class ApiKeyViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    viewsets.GenericViewSet):
    """API keys of the tenant, managed by owners and admins; the key is shown once."""

    serializer_class = s.ApiKeySerializer
    queryset = ApiKey.objects.all()
    read_roles = MANAGER_ROLES
    api_key_read_scope = None  # keys never manage keys
    whole_tenant_only = True  # a key acts for every site of the tenant

    @extend_schema(request=s.ApiKeyCreateInput, responses={201: s.ApiKeySerializer})
    def create(self, request):
        data = s.ApiKeyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = api_keys.api_key_create(tenant=self.tenant, actor=Actor.for_principal(request.user),
                                         created_by=request.user, **data.validated_data)
        body = dict(s.ApiKeySerializer(issued.record).data)
        body["key"] = issued.key
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses=s.ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, public_id=None):
        key = api_keys.api_key_revoke(api_key=self.get_object(), actor=Actor.for_principal(request.user))
        return Response(s.ApiKeySerializer(key).data)
