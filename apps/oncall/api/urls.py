from rest_framework.routers import SimpleRouter

from apps.oncall.api import views

router = SimpleRouter()
router.register("contact-methods", views.ContactMethodViewSet, basename="contact-method")
router.register("notification-rules", views.NotificationRuleViewSet, basename="notification-rule")
router.register("rosters", views.RosterViewSet, basename="roster")
router.register("roster-overrides", views.RosterOverrideViewSet, basename="roster-override")
router.register("maintenance-windows", views.MaintenanceWindowViewSet, basename="maintenance-window")

urlpatterns = router.urls
