from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.reports.api import views
from apps.reports.api.report_views import ReportViewSet

router = SimpleRouter()
router.register("reports", ReportViewSet, basename="report")

urlpatterns = [
    path("analytics/scans/", views.ScanAnalyticsApi.as_view(), name="analytics-scans"),
    path("analytics/devices/", views.DeviceAnalyticsApi.as_view(), name="analytics-devices"),
    path("scans/", views.ScanListApi.as_view(), name="scan-list"),
    path("exports/<slug:name>.csv", views.ExportApi.as_view(), name="export"),
] + router.urls
