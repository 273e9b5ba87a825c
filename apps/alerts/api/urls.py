from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.alerts.api.views import AlertViewSet, EventsApi

router = SimpleRouter()
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = [
    path("events/", EventsApi.as_view(), name="events"),
    *router.urls,
]
