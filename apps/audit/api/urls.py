from rest_framework.routers import SimpleRouter

from apps.audit.api.views import AuditAnchorViewSet, AuditEntryViewSet

router = SimpleRouter()
# Before the entries, whose detail route would otherwise take "anchors" for an id.
router.register("audit/anchors", AuditAnchorViewSet, basename="audit-anchor")
router.register("audit", AuditEntryViewSet, basename="audit")

urlpatterns = router.urls
