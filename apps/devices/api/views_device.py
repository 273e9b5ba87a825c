"""The device-facing identity API: enrolment, renewal, and who-am-I."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.devices import enrollment
from apps.devices.api import serializers as s
from apps.devices.authentication import DeviceTokenAuthentication
from apps.devices.config import device_config
from apps.devices.permissions import IsDevice
from apps.devices.throttling import DeviceRateThrottle, EnrollmentRateThrottle


class _PublicDeviceApi(APIView):
    """Unauthenticated by design (the device has no token yet), hence rate-limited per IP."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [EnrollmentRateThrottle]


class EnrollStartApi(_PublicDeviceApi):
    @extend_schema(request=s.EnrollStartInput, responses={201: s.ChallengeOutput})
    def post(self, request):
        data = s.EnrollStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = enrollment.enrollment_start(**data.validated_data)
        return Response(s.ChallengeOutput(challenge).data, status=status.HTTP_201_CREATED)


class EnrollCompleteApi(_PublicDeviceApi):
    @extend_schema(request=s.EnrollCompleteInput, responses=s.TokenOutput)
    def post(self, request):
        data = s.EnrollCompleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = enrollment.enrollment_complete(**data.validated_data)
        return Response(s.TokenOutput(issued).data)


class RenewalChallengeApi(_PublicDeviceApi):
    @extend_schema(request=s.RenewalChallengeInput, responses=s.RenewalChallengeOutput)
    def post(self, request):
        data = s.RenewalChallengeInput(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = enrollment.renewal_challenge_create(**data.validated_data)
        return Response(s.RenewalChallengeOutput(challenge).data)


class RenewalTokenApi(_PublicDeviceApi):
    @extend_schema(request=s.RenewalInput, responses=s.TokenOutput)
    def post(self, request):
        data = s.RenewalInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = enrollment.renewal_complete(**data.validated_data)
        return Response(s.TokenOutput(issued).data)


class DeviceApi(APIView):
    """Base for every endpoint a device calls with its token."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]
    throttle_classes = [DeviceRateThrottle]

    @property
    def device(self):
        return self.request.user.device


class DeviceMeApi(DeviceApi):
    @extend_schema(responses=s.DeviceMeOutput)
    def get(self, request):
        device = self.device
        return Response(s.DeviceMeOutput(device, context={"config": device_config(device)}).data)
