from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.iot.api.views import GatewayViewSet, PlantCreateApi

router = SimpleRouter()
router.register("gateways", GatewayViewSet, basename="gateway")
urlpatterns = [path("plants/", PlantCreateApi.as_view(), name="iot-plant-create"), *router.urls]
