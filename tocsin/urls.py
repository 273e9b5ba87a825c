from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from apps.common import health
from apps.ingest.device_page import device_page
from apps.notifications import provider_webhooks
from apps.tenancy import account_views
from apps.tenancy.admin_login import admin_login
from apps.tenancy.two_factor import two_factor_view
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
    path("admin/two-factor/", admin.site.admin_view(two_factor_view, cacheable=False), name="two-factor"),
    path("admin/", admin.site.urls),
    # Self-service accounts: invitation links and password resets (apps/tenancy/account_views.py).
    path("accounts/invite/<str:token>/", account_views.invite_accept, name="account-invite"),
    path("accounts/password-reset/", account_views.PasswordResetView.as_view(), name="admin_password_reset"),
    path("accounts/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", account_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("", include("apps.realtime.urls")),
    path("devices/<str:public_id>/", device_page, name="device-page"),
    path("hooks/twilio/status/", provider_webhooks.twilio_status, name="twilio-status"),
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
