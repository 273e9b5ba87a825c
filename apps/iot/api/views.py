"""The staff API of plant gateways: provision, list, download a server-made key once, revoke.

Thin views over apps.iot.provisioning and apps.iot.deprovisioning; tenant admins and owners
write, every member reads, and a plant or gateway of another tenant answers 404 (TenantScopedViewMixin).
"""

from __future__ import annotations

from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.audit.services import Actor
from apps.iot import deprovisioning, provisioning
from apps.iot.models import Gateway
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.api.serializers import TIMEZONE_CHOICES
from apps.tenancy.models import Site, SiteKind


class ProvisionSerializer(serializers.Serializer):
    plant = serializers.CharField(max_length=40, help_text="The plant site's id.")
    hardware_id = serializers.RegexField(r"^[A-Za-z0-9._:-]{1,128}$", max_length=128)
    name = serializers.CharField(max_length=100, required=False, default="")
    model = serializers.CharField(max_length=100, required=False, default="")
    csr = serializers.CharField(max_length=8192, required=False, default="",
                                help_text="PEM CSR made on the gateway; omit only for hardware that cannot make one.")


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="")


class GatewaySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="device.public_id", read_only=True)
    plant = serializers.CharField(source="site.public_id", read_only=True)
    hardware_id = serializers.CharField(source="device.hardware_id", read_only=True)
    name = serializers.CharField(source="device.name", read_only=True)
    key_available = serializers.SerializerMethodField()
    data_topic = serializers.SerializerMethodField()

    class Meta:
        model = Gateway
        fields = ["id", "plant", "hardware_id", "name", "identity", "status", "cert_serial", "cert_fingerprint",
                  "key_available", "data_topic", "steps", "created_at", "activated_at", "revoked_at"]

    def get_key_available(self, gateway: Gateway) -> bool:
        return bool(gateway.key_encrypted)

    def get_data_topic(self, gateway: Gateway) -> str:
        return f"solar/{gateway.site.public_id}/data"


def _bundle(result: provisioning.ProvisionResult) -> dict:
    return {**GatewaySerializer(result.gateway).data, "broker_url": result.broker_url,
            "certificate": result.certificate_pem, "chain": result.chain_pem, "ca": result.ca_pem}


class PlantSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    location_id = serializers.RegexField(r"^[A-Za-z0-9._-]{1,40}$", max_length=40)
    timezone = serializers.ChoiceField(choices=TIMEZONE_CHOICES, default="UTC")
    address = serializers.CharField(max_length=500, required=False, default="")
    gateway = ProvisionSerializer(required=False, help_text="Provision the plant's gateway with it ('plant' unused).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gateway"].fields["plant"].required = False


class PlantCreateApi(TenantScopedViewMixin, generics.GenericAPIView):
    """A plant site, and its gateway in the same call when the body names one."""

    serializer_class = PlantSerializer
    queryset = Site.objects.all()
    whole_tenant_only = True  # a new site is outside every site-scoped membership

    def post(self, request, *args, **kwargs):
        serializer = PlantSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        gateway = data.get("gateway") or {}
        result = provisioning.plant_create(
            tenant=self.tenant, actor=Actor.for_user(request.user), name=data["name"],
            location_id=data["location_id"], timezone=data["timezone"], address=data["address"],
            gateway_hardware_id=gateway.get("hardware_id", ""), gateway_name=gateway.get("name", ""),
            csr_pem=gateway.get("csr", ""))
        body = {"id": result.site.public_id, "name": result.site.name, "location_id": result.site.location_id,
                "kind": result.site.kind, "warnings": result.warnings,
                "gateway": _bundle(result.provisioned) if result.provisioned else None}
        return Response(body, status=status.HTTP_201_CREATED)


class GatewayViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = GatewaySerializer
    queryset = Gateway.objects.select_related("device", "site").order_by("-created_at")
    lookup_field = "device__public_id"
    lookup_url_kwarg = "public_id"
    pagination_class = None
    filterset_fields = ["status"]

    def get_serializer_class(self):
        return {"create": ProvisionSerializer, "revoke": RevokeSerializer}.get(self.action, GatewaySerializer)

    def create(self, request, *args, **kwargs):
        serializer = ProvisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        site = (self.scope.sites().filter(tenant=self.tenant, public_id=data["plant"], kind=SiteKind.PLANT)
                .order_by().first())
        if site is None:
            return Response({"error": {"code": "not_found", "message": "No such plant.",
                                       "fields": {"plant": ["No plant with this id."]}}}, status=404)
        result = provisioning.gateway_provision(site=site, actor=Actor.for_user(request.user),
                                            hardware_id=data["hardware_id"], name=data["name"],
                                            model=data["model"], csr_pem=data["csr"])
        return Response(_bundle(result), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def key(self, request, *args, **kwargs):
        """The server-made private key, once (for hardware that cannot make a CSR)."""
        key = provisioning.gateway_key_download(gateway=self.get_object(), actor=Actor.for_user(request.user))
        return Response({"private_key": key})

    @action(detail=True, methods=["post"])
    def revoke(self, request, *args, **kwargs):
        serializer = RevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        gateway = self.get_object()
        deprovisioning.gateway_deprovision(gateway=gateway, actor=Actor.for_user(request.user),
                                     reason=serializer.validated_data["reason"], revoked_by=request.user)
        gateway.refresh_from_db()
        return Response(GatewaySerializer(gateway).data)
