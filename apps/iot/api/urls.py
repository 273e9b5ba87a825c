from rest_framework.routers import DefaultRouter

from apps.iot.api.views import GatewayViewSet

router = DefaultRouter()
router.register("gateways", GatewayViewSet, basename="gateway")
urlpatterns = router.urls
