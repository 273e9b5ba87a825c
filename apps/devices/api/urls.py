from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.devices.api import views_device, views_fleet, views_staff

router = SimpleRouter()
router.register("devices", views_staff.DeviceViewSet, basename="device")
router.register("setup-tokens", views_staff.SetupTokenViewSet, basename="setup-token")
router.register("api-keys", views_staff.ApiKeyViewSet, basename="api-key")
router.register("commands", views_fleet.CommandViewSet, basename="command")

urlpatterns = [
    path("devices/enroll/", views_device.EnrollStartApi.as_view(), name="device-enroll"),
    path("devices/enroll/complete/", views_device.EnrollCompleteApi.as_view(), name="device-enroll-complete"),
    path("devices/challenge/", views_device.RenewalChallengeApi.as_view(), name="device-challenge"),
    path("devices/token/", views_device.RenewalTokenApi.as_view(), name="device-token"),
    path("devices/me/", views_device.DeviceMeApi.as_view(), name="device-me"),
    path("devices/me/shadow/", views_fleet.DeviceShadowApi.as_view(), name="device-me-shadow"),
    path("devices/me/key/", views_fleet.DeviceKeyRotateApi.as_view(), name="device-me-key"),
    path("devices/me/commands/", views_fleet.DeviceCommandsApi.as_view(), name="device-me-commands"),
    path("devices/me/commands/<str:command_id>/ack/", views_fleet.DeviceCommandAckApi.as_view(),
         name="device-me-command-ack"),
    *router.urls,
]
