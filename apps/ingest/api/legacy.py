"""The legacy API under `/api/`: what the hotel tablets and the dashboard in the field speak.

Same services as `/api/v1/`, only the shapes differ: bodies and answers are camelCase as
those clients send and read them, and every answer carries `ok`. Errors keep the house
shape (`{"error": {"code", "message", "fields"}}`), with field names as the client sent
them. Unknown keys are ignored rather than refused: these clients can't be updated to
drop whatever else they send; personal data is refused all the same, in any key (the
`roomId` ends up in the device's name, its alerts and the audit log). The mapping is
documented in docs/legacy-api.md.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.alerts.models import Alert
from apps.alerts.selectors import alert_list_with_ack_note, alert_recent_with_ack_note
from apps.alerts.services import RaiseResult, alert_acknowledge_on_behalf
from apps.audit.services import Actor
from apps.common.errors import ForbiddenError, NotFoundError
from apps.common.fields import BoundedDateTimeField
from apps.common.privacy import refuse_personal_data
from apps.common.throttling import EnrollmentRateThrottle, LegacyRenewalRateThrottle
from apps.devices.api.serializers import HARDWARE_ID
from apps.devices.api.views_device import DeviceApi
from apps.devices.credentials import REFRESH_CREDENTIAL_PREFIX
from apps.devices.legacy_enrollment import legacy_refresh, legacy_register
from apps.ingest.services.device_alerts import device_alert_report
from apps.ingest.services.heartbeats import heartbeat_ingest
from apps.ingest.validation.heartbeat import BSSID_PATTERN
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import OPERATOR_ROLES

ALERT_ID = r"^alr_[a-z0-9]{10,32}$"
ROOM_ID_MAX_LENGTH = 40
# Fields whose serializers admit only a secret (setup token, refresh credential), an access
# point or a number (see apps/common/privacy.py); `deviceId` is read, as it becomes the
# device's hardware id.
LEGACY_TYPED_FIELDS = frozenset({"setupToken", "refreshToken", "wifiBssid", "rssi", "battery", "level"})

# --- input ---------------------------------------------------------------------------------------


class LegacyRegisterInput(serializers.Serializer):
    deviceId = serializers.RegexField(HARDWARE_ID)
    roomId = serializers.CharField(max_length=ROOM_ID_MAX_LENGTH)
    hotelId = serializers.CharField(max_length=40, help_text="The site's location id.")
    setupToken = serializers.CharField(
        max_length=100, required=False,
        help_text="First registration: a setup token of the site. A tablet app that simply stores what it "
                  "is given may send its refresh credential here too.")
    refreshToken = serializers.CharField(max_length=100, required=False,
                                         help_text="Every later registration: the refresh credential "
                                                   "returned by the previous one.")

    def validate(self, attrs):
        refresh = attrs.get("refreshToken")
        setup = attrs.get("setupToken")
        if refresh is None and setup is not None and setup.startswith(REFRESH_CREDENTIAL_PREFIX):
            refresh, setup = setup, None
        if refresh is None and setup is None:
            raise serializers.ValidationError({"setupToken": ["A setup token or a refresh token is required."]})
        attrs["refreshToken"], attrs["setupToken"] = refresh, setup
        return attrs


def _presents_refresh_credential(data) -> bool:
    if not isinstance(data, dict):
        return False
    setup = data.get("setupToken")
    return "refreshToken" in data or (isinstance(setup, str) and setup.startswith(REFRESH_CREDENTIAL_PREFIX))


class _LegacyReportInput(serializers.Serializer):
    deviceId = serializers.RegexField(HARDWARE_ID, help_text="Must be the hardware id the token was issued to.")
    roomId = serializers.CharField(max_length=ROOM_ID_MAX_LENGTH)


class LegacyHeartbeatInput(_LegacyReportInput):
    wifiBssid = serializers.RegexField(BSSID_PATTERN, allow_blank=True)
    rssi = serializers.IntegerField(min_value=-120, max_value=0)
    battery = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)


class LegacyBreachInput(_LegacyReportInput):
    rssi = serializers.IntegerField(min_value=-120, max_value=0)


class LegacyBatteryInput(_LegacyReportInput):
    level = serializers.IntegerField(min_value=0, max_value=100)


class LegacyRecentQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)
    since = BoundedDateTimeField(required=False)


class LegacyAcknowledgeInput(serializers.Serializer):
    alertId = serializers.RegexField(ALERT_ID)
    acknowledgedBy = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


# --- output --------------------------------------------------------------------------------------


class LegacyAlertOutput(serializers.Serializer):
    alertId = serializers.CharField(source="public_id")
    type = serializers.CharField(source="kind")
    severity = serializers.CharField()
    status = serializers.CharField()
    message = serializers.CharField(source="summary")
    deviceId = serializers.CharField(source="device.hardware_id", default=None)
    roomId = serializers.SerializerMethodField()
    siteId = serializers.CharField(source="site.location_id", default=None)
    count = serializers.IntegerField()
    firstSeen = serializers.DateTimeField(source="first_seen_at")
    lastSeen = serializers.DateTimeField(source="last_seen_at")
    acknowledged = serializers.SerializerMethodField()
    acknowledgedBy = serializers.SerializerMethodField()
    acknowledgedAt = serializers.DateTimeField(source="acknowledged_at")
    notes = serializers.CharField(source="acknowledgement_note", default=None)  # alert_list_with_ack_note

    def get_roomId(self, alert: Alert) -> str | None:
        """The room the report named, else the room the tablet registered for."""
        room = alert.details.get("room_id") if isinstance(alert.details, dict) else None
        if room is None and alert.device is not None:
            room = alert.device.desired_state.get("room_id")
        return str(room) if room is not None else None

    def get_acknowledged(self, alert: Alert) -> bool:
        return alert.acknowledged_at is not None

    def get_acknowledgedBy(self, alert: Alert) -> str | None:
        return alert.acknowledged_by_label or None


# --- tablets -------------------------------------------------------------------------------------


class LegacyRegisterApi(APIView):
    """Unauthenticated by design (the tablet's token has expired or it has none): the
    credential is in the body. A first registration (setup token) is rate-limited per IP
    like enrolment; a refresh per tablet like renewal."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_throttles(self):
        if _presents_refresh_credential(self.request.data):
            return [LegacyRenewalRateThrottle()]
        return [EnrollmentRateThrottle()]

    @extend_schema(request=LegacyRegisterInput, responses=OpenApiTypes.OBJECT, tags=["legacy"])
    def post(self, request):
        refuse_personal_data(request.data, typed_fields=LEGACY_TYPED_FIELDS)
        data = LegacyRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        where = {"hotel_id": body["hotelId"], "device_id": body["deviceId"], "room_id": body["roomId"]}
        if body["refreshToken"] is not None:
            issued = legacy_refresh(refresh_credential=body["refreshToken"], **where)
        else:
            issued = legacy_register(setup_token=body["setupToken"], **where)
        return Response({"ok": True, "token": issued.token.access, "expiresAt": issued.token.expires_at,
                         "refreshToken": issued.refresh_credential}, headers={"Cache-Control": "no-store"})


class _LegacyDeviceApi(DeviceApi):
    """A tablet speaks only for itself: the body's deviceId must be its own hardware id."""

    input_class: type[_LegacyReportInput]

    def validated(self, request) -> dict:
        refuse_personal_data(request.data, typed_fields=LEGACY_TYPED_FIELDS)
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["deviceId"] != self.device.hardware_id:
            raise ForbiddenError("deviceId does not match the device of this token.", code="device_mismatch")
        return data.validated_data


class LegacyHeartbeatApi(_LegacyDeviceApi):
    input_class = LegacyHeartbeatInput

    @extend_schema(request=LegacyHeartbeatInput, responses=OpenApiTypes.OBJECT, tags=["legacy"])
    def post(self, request):
        body = self.validated(request)
        # The old tablets send no clock of their own: the server's receipt time stands in.
        heartbeat = {"sent_at": timezone.now(), "link": {"wifi_bssid": body["wifiBssid"], "rssi": body["rssi"]}}
        if body.get("battery") is not None:
            heartbeat["battery"] = {"level": body["battery"]}
        heartbeat_ingest(device=self.device, heartbeat=heartbeat)
        return Response({"ok": True})


def _alert_answer(result: RaiseResult) -> Response:
    return Response({"ok": True, "alertId": result.alert.public_id, "deduplicated": result.deduplicated})


class LegacyBreachApi(_LegacyDeviceApi):
    input_class = LegacyBreachInput

    @extend_schema(request=LegacyBreachInput, responses=OpenApiTypes.OBJECT, tags=["legacy"])
    def post(self, request):
        body = self.validated(request)
        result = device_alert_report(device=self.device, kind="breach", occurred_at=timezone.now(),
                                     details={"rssi": body["rssi"], "room_id": body["roomId"]})
        return _alert_answer(result)


class LegacyBatteryApi(_LegacyDeviceApi):
    input_class = LegacyBatteryInput

    @extend_schema(request=LegacyBatteryInput, responses=OpenApiTypes.OBJECT, tags=["legacy"])
    def post(self, request):
        body = self.validated(request)
        result = device_alert_report(device=self.device, kind="battery_low", occurred_at=timezone.now(),
                                     details={"battery_level": body["level"]})
        return _alert_answer(result)


# --- dashboard -----------------------------------------------------------------------------------


class LegacyRecentAlertsApi(TenantScopedViewMixin, APIView):
    """Every member reads; API keys with the `read` scope too."""

    @extend_schema(parameters=[LegacyRecentQuery], responses=OpenApiTypes.OBJECT, tags=["legacy"])
    def get(self, request):
        query = LegacyRecentQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        alerts = alert_recent_with_ack_note(tenant=self.tenant, scope=self.scope, **query.validated_data)
        return Response({"ok": True, "alerts": LegacyAlertOutput(alerts, many=True).data})


class LegacyAcknowledgeApi(TenantScopedViewMixin, APIView):
    """Owners, admins and staff acknowledge; API keys may only read here."""

    write_roles = OPERATOR_ROLES

    @extend_schema(request=LegacyAcknowledgeInput, responses=OpenApiTypes.OBJECT, tags=["legacy"])
    def post(self, request):
        data = LegacyAcknowledgeInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        alert = (alert_list_with_ack_note(tenant=self.tenant, scope=self.scope).filter(public_id=body["alertId"])
                 .order_by().first())
        if alert is None:
            raise NotFoundError("Alert not found.")
        alert_acknowledge_on_behalf(alert=alert, actor=Actor.for_principal(request.user), user=request.user,
                                    on_behalf_of=body["acknowledgedBy"], note=body["notes"])
        return Response({"ok": True, "alert": LegacyAlertOutput(alert_list_with_ack_note(tenant=self.tenant)
                                                                .get(pk=alert.pk)).data})
