from django.urls import path

from apps.ingest.api import history_views, views

urlpatterns = [
    path("heartbeats/", views.HeartbeatApi.as_view(), name="heartbeats"),
    path("scans/batch/", views.ScanBatchApi.as_view(), name="scan-batch"),
    path("telemetry/", views.TelemetryApi.as_view(), name="telemetry"),
    path("device-alerts/", views.DeviceAlertApi.as_view(), name="device-alerts"),
    path("devices/<str:public_id>/telemetry/", history_views.DeviceTelemetryApi.as_view(), name="device-telemetry"),
    path("devices/<str:public_id>/health/", history_views.DeviceHealthApi.as_view(), name="device-health"),
]
