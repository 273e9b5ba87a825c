from django.urls import path
from rest_framework.routers import SimpleRouter
from rest_framework_simplejwt.views import TokenBlacklistView, TokenRefreshView

from apps.tenancy.api.members import InvitationViewSet, InviteAcceptApi, MemberViewSet, PasswordResetRequestApi
from apps.tenancy.api.views import MeApi, SiteViewSet, TenantViewSet, TokenObtainApi

router = SimpleRouter()
router.register("tenants", TenantViewSet, basename="tenant")
router.register("sites", SiteViewSet, basename="site")
router.register("members", MemberViewSet, basename="member")
router.register("invites", InvitationViewSet, basename="invite")

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("auth/refresh/", TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout/", TokenBlacklistView.as_view(), name="auth-token-logout"),
    path("auth/password-reset/", PasswordResetRequestApi.as_view(), name="auth-password-reset"),
    path("auth/invite/accept/", InviteAcceptApi.as_view(), name="auth-invite-accept"),
    path("me/", MeApi.as_view(), name="me"),
    *router.urls,
]
