from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from apps.common import health
from apps.ingest.device_page import device_page
from apps.notifications import hooks_views
from apps.tenancy.admin_login import admin_login
from tocsin.api_docs import docs_view, schema_view
from tocsin.metrics import metrics

api_v1 = [
    path("", include("apps.devices.api.urls")),
    path("", include("apps.tenancy.api.urls")),
    path("", include("apps.audit.api.urls")),
    path("", include("apps.alerts.api.urls")),
    path("", include("apps.ingest.api.urls")),
    path("", include("apps.reports.api.urls")),
    path("", include("apps.notifications.api.urls")),
    path("", include("apps.oncall.api.urls")),
    path("iot/", include("apps.iot.api.urls")),
]

urlpatterns = [
    # The first URL `make run` prints: people land on the live board (it asks them to sign in).
    path("", RedirectView.as_view(pattern_name="board", permanent=False), name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics, name="prometheus-metrics"),
    path("admin/login/", admin_login, name="admin-login"),  # the admin's own, behind the login limits
    path("admin/", admin.site.urls),
    path("", include("apps.realtime.urls")),
    path("devices/<str:public_id>/", device_page, name="device-page"),
    path("hooks/twilio/status/", hooks_views.twilio_status, name="twilio-status"),
    path("", include("apps.responses.urls")),  # answers to pages: SMS, voice, Slack, email links
    path("api/v1/", include(api_v1)),
    # The API the hotel tablets and the dashboard already in the field speak (camelCase).
    path("api/", include("apps.ingest.api.legacy_urls")),
    path("api/schema/", schema_view, name="schema"),
    path("api/docs/", docs_view, name="swagger-ui"),
]

admin.site.site_header = "Tocsin"
admin.site.site_title = "Tocsin admin"
admin.site.site_url = "/board/"  # the admin's "View site"
