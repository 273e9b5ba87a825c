"""The legacy API, mounted at `/api/` (see docs/legacy-api.md): exact paths, no trailing slash,
as the clients in the field call them."""

from django.urls import path

from apps.ingest.api import legacy

urlpatterns = [
    path("devices/register", legacy.LegacyRegisterApi.as_view(), name="legacy-register"),
    path("heartbeat", legacy.LegacyHeartbeatApi.as_view(), name="legacy-heartbeat"),
    path("alert/breach", legacy.LegacyBreachApi.as_view(), name="legacy-breach"),
    path("alert/battery", legacy.LegacyBatteryApi.as_view(), name="legacy-battery"),
    path("alerts/recent", legacy.LegacyRecentAlertsApi.as_view(), name="legacy-alerts-recent"),
    path("alerts/acknowledge", legacy.LegacyAcknowledgeApi.as_view(), name="legacy-alerts-acknowledge"),
]
