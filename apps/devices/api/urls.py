from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.devices.api import views_device, views_staff

router = SimpleRouter()
router.register("devices", views_staff.DeviceViewSet, basename="device")
router.register("setup-tokens", views_staff.SetupTokenViewSet, basename="setup-token")
router.register("api-keys", views_staff.ApiKeyViewSet, basename="api-key")

urlpatterns = [
    path("devices/enroll/", views_device.EnrollStartApi.as_view(), name="device-enroll"),
    path("devices/enroll/complete/", views_device.EnrollCompleteApi.as_view(), name="device-enroll-complete"),
    path("devices/challenge/", views_device.RenewalChallengeApi.as_view(), name="device-challenge"),
    path("devices/token/", views_device.RenewalTokenApi.as_view(), name="device-token"),
    path("devices/me/", views_device.DeviceMeApi.as_view(), name="device-me"),
    *router.urls,
]
