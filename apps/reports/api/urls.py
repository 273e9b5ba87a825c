from django.urls import path

from apps.reports.api import views

urlpatterns = [
    path("analytics/scans/", views.ScanAnalyticsApi.as_view(), name="analytics-scans"),
    path("analytics/devices/", views.DeviceAnalyticsApi.as_view(), name="analytics-devices"),
]
