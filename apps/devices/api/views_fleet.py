"""Shadows and commands over REST: staff read and change, devices report and acknowledge.

Views are thin: parse, call apps/devices/shadows.py or commands.py, answer. The shadow's
version travels as an ETag and comes back as If-Match, so a stale edit is a 412.
"""

from __future__ import annotations

import django_filters
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.devices import commands, key_rotation, selectors, shadows
from apps.devices.api import serializers_fleet as s
from apps.devices.api.serializers import TokenOutput
from apps.devices.api.views_device import DeviceApi
from apps.devices.models import DeviceCommand
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import OPERATOR_ROLES

IF_MATCH = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                            description="The shadow version you read (its ETag); a stale one answers 412.")


STALE_VERSION = OpenApiResponse(description="If-Match named an older version: read the shadow again, retry. "
                                            "(413: a document would be over 8 KiB.)")


def expected_version(request) -> int | None:
    raw = request.headers.get("If-Match", "").strip()
    if not raw or raw == "*":
        return None
    raw = raw.removeprefix("W/").strip('"')
    if not raw.isdigit() or len(raw) > 18:
        raise ApplicationError("If-Match must be the shadow version (its ETag).", fields={"If-Match": ["Invalid."]})
    return int(raw)


def shadow_response(device) -> Response:
    return Response(shadows.shadow_document(device), headers={"ETag": f'"{device.shadow_version}"'})


class DeviceShadowActions:
    """Mixed into the staff DeviceViewSet: GET/PATCH /devices/{id}/shadow/."""

    @extend_schema(methods=["GET"], responses=s.ShadowOutput, summary="The device's shadow")
    @extend_schema(methods=["PATCH"], request=s.DesiredPatchInput, parameters=[IF_MATCH],
                   responses={200: s.ShadowOutput, 412: STALE_VERSION},
                   summary="Change the desired document (operators; If-Match the version)")
    @action(detail=True, methods=["get", "patch"])
    def shadow(self, request, public_id=None):
        device = self.get_object()
        if request.method == "GET":
            return shadow_response(device)
        if not self.tenant_context.has_role(OPERATOR_ROLES):
            raise exceptions.PermissionDenied()
        data = s.DesiredPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        device = shadows.shadow_desired_update(device=device, actor=Actor.for_principal(request.user),
                                               patch=data.validated_data["desired"],
                                               expected_version=expected_version(request))
        return shadow_response(device)


class DeviceShadowApi(DeviceApi):
    @extend_schema(responses=s.ShadowOutput, tags=["device"], summary="The calling device's shadow (device token)",
                   description="`{device, version, desired, reported, delta, metadata, pending_since, drifting}`: "
                               "the delta is what staff want that the device has not reported yet. The version "
                               "is also the ETag. Examples: docs/device-api.md.")
    def get(self, request):
        return shadow_response(self.device)

    @extend_schema(request=s.ReportedPatchInput, parameters=[IF_MATCH],
                   responses={200: s.ShadowOutput, 412: STALE_VERSION},
                   tags=["device"], summary="Report what the device now has (device token)",
                   description="A JSON merge patch of the reported document (`null` removes a key), at most "
                               "8 KiB in all. Answers the whole shadow: an empty `delta` means the device has "
                               "everything staff asked for. Examples: docs/device-api.md.")
    def patch(self, request):
        data = s.ReportedPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        device = shadows.shadow_reported_update(device=self.device, patch=data.validated_data["reported"],
                                                expected_version=expected_version(request))
        return shadow_response(device)


class DeviceCommandsApi(DeviceApi):
    @extend_schema(responses=s.DeviceCommandOutput(many=True), tags=["device"],
                   summary="Take the calling device's pending commands (device token)",
                   description="Each command is handed out once (it becomes `delivered`); the same commands "
                               "also come in heartbeat answers. Acknowledge each with its result.")
    def get(self, request):
        return Response(commands.commands_deliver(device=self.device, via="rest"))


class DeviceCommandAckApi(DeviceApi):
    @extend_schema(request=s.CommandAckInput, responses=s.CommandSerializer,
                   tags=["device"], summary="Acknowledge a command with its result (device token)",
                   description="`status` ok or failed, and a small `result` object (≤ 2 KiB). Acknowledging "
                               "again changes nothing; after expiry it answers 400 `command_expired`.")
    def post(self, request, command_id: str):
        data = s.CommandAckInput(data=request.data)
        data.is_valid(raise_exception=True)
        if len(command_id) > 40:
            raise Http404
        command = commands.command_ack(device=self.device, command_id=command_id,
                                       ok=data.validated_data["status"] == "ok",
                                       result=data.validated_data.get("result"))
        return Response(s.CommandSerializer(command).data)


class DeviceKeyRotateApi(DeviceApi):
    @extend_schema(request=s.KeyRotateInput, responses=TokenOutput, tags=["device"],
                   summary="Replace the device key (device token)",
                   description="`public_key` (base64 of the new raw Ed25519 key) and `signature`: the new key's "
                               "signature of `tocsin-rotate-v1\\n<device_id>\\n<public_key>`. Every earlier "
                               "token dies; the answer is the token for the new key.")
    def post(self, request):
        data = s.KeyRotateInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = key_rotation.device_key_rotate(device=self.device, actor=Actor.for_principal(request.user),
                                                **data.validated_data)
        return Response(TokenOutput(issued).data)


class CommandFilter(django_filters.FilterSet):
    """Plain text filters: an unknown value matches nothing (it is never a 400 on a detail URL)."""

    device = django_filters.CharFilter(field_name="device__public_id")
    status = django_filters.CharFilter()
    name = django_filters.CharFilter()
    group = django_filters.CharFilter()

    class Meta:
        model = DeviceCommand
        fields = ["device", "status", "name", "group"]


class CommandViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     viewsets.GenericViewSet):
    """Commands of the tenant: operators send them to a device or a group (site and/or kind)."""

    serializer_class = s.CommandSerializer
    queryset = DeviceCommand.objects.select_related("device")
    write_roles = OPERATOR_ROLES
    filterset_class = CommandFilter

    def get_queryset(self):
        return self.scope.filter(selectors.command_list(tenant=self.tenant))

    @extend_schema(request=s.CommandCreateInput, responses={201: s.CommandSerializer(many=True)})
    def create(self, request):
        data = s.CommandCreateInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        if not data.validated_data.get("device") and not data.validated_data.get("site") and \
                not self.scope.covers_tenant(self.tenant.pk):
            # A group by kind alone spans every site: a site-scoped operator names one of theirs.
            raise exceptions.ValidationError({"site": ["Name one of your sites (or a device) for a group command."]})
        sent = commands.command_send(tenant=self.tenant, actor=Actor.for_principal(request.user),
                                     **data.validated_data)
        return Response(s.CommandSerializer(sent, many=True).data, status=status.HTTP_201_CREATED)
