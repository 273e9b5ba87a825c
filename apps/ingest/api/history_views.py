"""Staff API for a device's history: telemetry and health samples in buckets.

`GET /api/v1/devices/{id}/telemetry/?metric=&inverter=&since=&until=&bucket=` and
`GET /api/v1/devices/{id}/health/?fields=&since=&until=&bucket=`: every role of the tenant
reads them (they are what the device page charts); a foreign tenant's device answers 404.
Bad parameters answer 400 naming the parameter, never 500.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from apps.common.errors import ApplicationError
from apps.devices.models import Device
from apps.ingest import history
from apps.tenancy.api.mixins import TenantScopedViewMixin


class _RangeQuery(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Start (inclusive); default: 24 h before `until`.")
    until = serializers.DateTimeField(required=False, help_text="End (exclusive); default: now.")
    bucket = serializers.ChoiceField(choices=list(history.BUCKETS), required=False,
                                     help_text="Bucket width; default: the smallest giving at most 200 buckets. "
                                               "A day or a week is the site's local calendar day (week from Monday).")

    def validate(self, attrs):
        for name in ("since", "until"):
            if name in attrs and not 2000 <= attrs[name].year <= 2200:
                raise serializers.ValidationError({name: ["Between the years 2000 and 2200."]})
        return attrs


class TelemetryQuery(_RangeQuery):
    metric = serializers.RegexField(r"^[A-Za-z0-9_.:-]{1,64}$", required=False,
                                    help_text="One metric; default: every metric of the device.")
    inverter = serializers.RegexField(r"^[A-Za-z0-9_.:-]{0,64}$", required=False, allow_blank=True,
                                      help_text="One inverter under a plant gateway (the seed's deviceId); "
                                                "empty: the device's own metrics; absent: every inverter.")


class HealthQuery(_RangeQuery):
    fields = serializers.RegexField(r"^[a-z_]{1,40}(,[a-z_]{1,40}){0,9}$", required=False,
                                    help_text=f"Comma-separated; default: {', '.join(history.HEALTH_FIELDS)}.")


class PointSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="Bucket start, ISO 8601 in the site's timezone.")
    avg = serializers.FloatField()
    min = serializers.FloatField()
    max = serializers.FloatField()
    count = serializers.IntegerField()


class SeriesSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The metric, or the health field.")
    inverter = serializers.CharField()
    unit = serializers.CharField()
    points = PointSerializer(many=True)


class HistorySerializer(serializers.Serializer):
    device = serializers.CharField()
    timezone = serializers.CharField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    bucket = serializers.CharField()
    truncated = serializers.BooleanField()
    series = SeriesSerializer(many=True)


class _DeviceHistoryApi(TenantScopedViewMixin, generics.GenericAPIView):
    queryset = Device.objects.select_related("site")
    serializer_class = HistorySerializer
    pagination_class = None
    filter_backends: list = []
    query_serializer: type[serializers.Serializer] = _RangeQuery

    def _query(self, request) -> tuple[Device, dict, history.Window]:
        device = self.get_object()
        query = self.query_serializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        try:
            window = history.choose_window(since=data.get("since"), until=data.get("until"),
                                           bucket=data.get("bucket"), now=timezone.now())
        except history.HistoryQueryError as exc:
            raise ApplicationError(str(exc), code="invalid", fields={exc.field: [str(exc)]}) from exc
        return device, data, window

    def _answer(self, device: Device, window: history.Window, series, truncated: bool = False) -> Response:
        return Response(HistorySerializer({
            "device": device.public_id, "timezone": device.site.timezone, "since": window.since,
            "until": window.until, "bucket": window.bucket, "truncated": truncated,
            "series": [{"name": s.name, "inverter": s.inverter, "unit": s.unit, "points": s.points} for s in series],
        }).data)


class DeviceTelemetryApi(_DeviceHistoryApi):
    query_serializer = TelemetryQuery

    @extend_schema(parameters=[TelemetryQuery], responses=HistorySerializer)
    def get(self, request, public_id: str):
        """Average, minimum and maximum per bucket of each metric (and inverter) of the device."""
        device, data, window = self._query(request)
        series, truncated = history.telemetry_history(device=device, window=window, metric=data.get("metric"),
                                                      inverter=data.get("inverter"))
        return self._answer(device, window, series, truncated)


class DeviceHealthApi(_DeviceHistoryApi):
    query_serializer = HealthQuery

    @extend_schema(parameters=[HealthQuery], responses=HistorySerializer)
    def get(self, request, public_id: str):
        """Average, minimum and maximum per bucket of the device's heartbeat health figures."""
        device, data, window = self._query(request)
        fields = data["fields"].split(",") if data.get("fields") else list(history.HEALTH_FIELDS)
        try:
            series = history.health_history(device=device, window=window, fields=list(dict.fromkeys(fields)))
        except history.HistoryQueryError as exc:
            raise ApplicationError(str(exc), code="invalid", fields={exc.field: [str(exc)]}) from exc
        return self._answer(device, window, series)
