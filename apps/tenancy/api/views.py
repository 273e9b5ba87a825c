from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.views import TokenObtainPairView

from apps.common.errors import ConflictError
from apps.common.throttling import LoginRateThrottle
from apps.tenancy import selectors, services
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.api.serializers import MeSerializer, SiteSerializer, TenantSerializer
from apps.tenancy.login_guard import login_lockout_check
from apps.tenancy.models import Site, Tenant


class IsPerson(permissions.BasePermission):
    """A signed-in person; an integration's key or a device has no memberships to show."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, get_user_model()) and request.user.is_authenticated


class MeApi(APIView):
    """Who am I, and for which tenants with which role."""

    permission_classes = [IsPerson]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        payload = {
            "username": user.username,
            "email": user.email,
            "is_superuser": user.is_superuser,
            "memberships": selectors.membership_list_for_user(user=user),
        }
        return Response(MeSerializer(payload).data)


class TenantViewSet(viewsets.ModelViewSet):
    """Tenants are an operator concern: superusers only."""

    serializer_class = TenantSerializer
    permission_classes = [permissions.IsAdminUser, permissions.IsAuthenticated]
    lookup_field = "public_id"
    queryset = Tenant.objects.all().order_by("name")
    pagination_class = None

    def check_permissions(self, request):
        super().check_permissions(request)
        if not request.user.is_superuser:
            self.permission_denied(request)

    def perform_create(self, serializer):
        serializer.instance = services.tenant_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.tenant_update(tenant=serializer.instance, actor=self.request.user,
                                                     **serializer.validated_data)

    def perform_destroy(self, instance):
        raise ConflictError("A tenant is erased with `manage.py tenant_erase`, which exports it first and leaves "
                            "a tombstone.", code="tenant_erase_required")


class SiteViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                  mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                  viewsets.GenericViewSet):
    """Sites of the caller's tenant: admins and owners edit, everyone else reads."""

    serializer_class = SiteSerializer
    queryset = Site.objects.all()
    pagination_class = None
    filterset_fields = ["kind"]

    def perform_create(self, serializer):
        if not self.scope.covers_tenant(self.tenant.pk):
            raise exceptions.PermissionDenied("A new site is outside your sites: ask a whole-tenant admin.")
        serializer.instance = services.site_create(tenant=self.tenant, actor=self.request.user,
                                                   **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.site_update(site=serializer.instance, actor=self.request.user,
                                                   **serializer.validated_data)

    def perform_destroy(self, instance):
        """Deprovisions the site; one with history is archived (still listed, `archived_at` set)."""
        services.site_delete(site=instance, actor=self.request.user)


class TokenObtainApi(TokenObtainPairView):
    """simplejwt's login, plus Django's `user_logged_in` so JWT logins are audited like
    session logins (and `last_login` is kept by Django's own receiver). Limited per client
    address and per account (apps/tenancy/login_guard.py); a locked account answers 429,
    an unreachable limit store 503, whoever asks."""

    throttle_classes = [LoginRateThrottle]

    def post(self, request, *args, **kwargs):
        username = request.data.get("username") if isinstance(request.data, dict) else None
        if isinstance(username, str) and username:
            login_lockout_check(username=username)
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        user_logged_in.send(sender=serializer.user.__class__, request=request, user=serializer.user)
        return Response(serializer.validated_data, status=200)
