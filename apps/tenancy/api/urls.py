from django.urls import path
from rest_framework.routers import SimpleRouter
from rest_framework_simplejwt.views import TokenBlacklistView, TokenRefreshView

from apps.tenancy.api.memberships import MembershipViewSet
from apps.tenancy.api.views import MeApi, SiteViewSet, TenantViewSet, TokenObtainApi

router = SimpleRouter()
router.register("tenants", TenantViewSet, basename="tenant")
router.register("sites", SiteViewSet, basename="site")
router.register("memberships", MembershipViewSet, basename="membership")

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("auth/refresh/", TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout/", TokenBlacklistView.as_view(), name="auth-token-logout"),
    path("me/", MeApi.as_view(), name="me"),
    *router.urls,
]
