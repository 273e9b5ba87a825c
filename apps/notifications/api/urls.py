from rest_framework.routers import SimpleRouter

from apps.notifications.api.views import ChannelViewSet, NotificationViewSet, PolicyViewSet

router = SimpleRouter()
router.register("channels", ChannelViewSet, basename="channel")
router.register("escalation-policies", PolicyViewSet, basename="escalation-policy")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = router.urls
