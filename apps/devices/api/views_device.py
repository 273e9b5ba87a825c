"""The device-facing identity API: enrolment, renewal, and who-am-I."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.privacy import refuse_personal_data
from apps.common.throttling import DeviceRateThrottle, EnrollmentRateThrottle, RenewalRateThrottle
from apps.devices import enrollment
from apps.devices.api import serializers as s
from apps.devices.authentication import DeviceTokenAuthentication
from apps.devices.config import device_config
from apps.devices.permissions import IsDevice

# Keys, signatures, tokens and ids: checked by their own formats, never free text.
_CREDENTIAL_FIELDS = frozenset({"setup_token", "public_key", "signature", "current_key_signature", "enrollment_id",
                                "device_id", "challenge", "location_id", "kind"})


SERVER_TIME_HEADER = "X-Server-Time"


def server_time() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


class ServerTimeMixin:
    """Every answer to a device carries the server's clock (errors included): an agent
    without a real-time clock corrects its timestamps by it (docs/device-api.md)."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response[SERVER_TIME_HEADER] = server_time()
        return response


class _PublicDeviceApi(ServerTimeMixin, APIView):
    """One step of enrolment or renewal: validate the body, call the service, answer.

    Unauthenticated by design (the device has no token yet), hence rate-limited: enrolment
    per client IP, renewal per device, both refusing (503) while the limit can't be checked.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [EnrollmentRateThrottle]
    input_serializer: type
    output_serializer: type
    service: Callable[..., Any]  # the enrolment or renewal step, as a staticmethod
    success_status = status.HTTP_200_OK

    def post(self, request):
        # What a device names itself (hardware id, model) is stored: no personal data in it.
        refuse_personal_data(request.data, typed_fields=_CREDENTIAL_FIELDS)
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = type(self).service(**data.validated_data)
        return Response(self.output_serializer(result).data, status=self.success_status)


@extend_schema(
    request=s.EnrollStartInput, responses={201: s.ChallengeOutput}, tags=["device"],
    summary="Start enrolment with a setup token (no auth)",
    description="The device sends the setup token and location id from its QR code, its hardware id, model, "
                "kind and its Ed25519 public key (base64 of 32 raw bytes). Answers a one-time challenge to sign: "
                "`tocsin-enroll-v1\\n<enrollment_id>\\n<hardware_id>\\n<challenge>`. A bad, expired or used-up "
                "token answers 403 `enrollment_refused` (deliberately vague). Rate-limited per IP (429). "
                "Examples: docs/device-api.md.")
class EnrollStartApi(_PublicDeviceApi):
    input_serializer, output_serializer = s.EnrollStartInput, s.ChallengeOutput
    service = staticmethod(enrollment.enrollment_start)
    success_status = status.HTTP_201_CREATED


@extend_schema(
    request=s.EnrollCompleteInput, responses=s.TokenOutput, tags=["device"],
    summary="Complete enrolment with the signed challenge (no auth)",
    description="`enrollment_id` and the base64 Ed25519 signature of the challenge. Answers the device id and its "
                "access token (JWT, 24 h by default): send it as `Authorization: Bearer` on every device call, "
                "and keep `device_id` for renewal. A signature that does not verify answers 403.")
class EnrollCompleteApi(_PublicDeviceApi):
    input_serializer, output_serializer = s.EnrollCompleteInput, s.TokenOutput
    service = staticmethod(enrollment.enrollment_complete)


class _RenewalStep(_PublicDeviceApi):
    """A renewal step: rate-limited per device named in the body (per client IP when none is)."""

    throttle_classes = [RenewalRateThrottle]


@extend_schema(
    request=s.RenewalChallengeInput, responses=s.RenewalChallengeOutput, tags=["device"],
    summary="Ask for a renewal challenge (no auth)",
    description="`{device_id}`. Answers a challenge to sign with the device key: "
                "`tocsin-token-v1\\n<challenge_id>\\n<device_id>\\n<challenge>`. No stored secret is needed.")
class RenewalChallengeApi(_RenewalStep):
    input_serializer, output_serializer = s.RenewalChallengeInput, s.RenewalChallengeOutput
    service = staticmethod(enrollment.renewal_challenge_create)


@extend_schema(
    request=s.RenewalInput, responses=s.TokenOutput, tags=["device"],
    summary="Renew the device token with the signed challenge (no auth)",
    description="`device_id`, `challenge_id` and the signature. Answers a fresh access token. A revoked device "
                "answers 403 `device_revoked`; a signature that does not verify answers 401.")
class RenewalTokenApi(_RenewalStep):
    input_serializer, output_serializer = s.RenewalInput, s.TokenOutput
    service = staticmethod(enrollment.renewal_complete)


class DeviceApi(ServerTimeMixin, APIView):
    """Base for every endpoint a device calls with its token."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]
    throttle_classes = [DeviceRateThrottle]

    @property
    def device(self):
        return self.request.user.device


class DeviceMeApi(DeviceApi):
    @extend_schema(
        responses=s.DeviceMeOutput, tags=["device"], summary="The calling device (device token)",
        description="The device's identity, site, tenant and configuration (heartbeat interval, thresholds).")
    def get(self, request):
        device = self.device
        return Response(s.DeviceMeOutput(device, context={"config": device_config(device)}).data)
