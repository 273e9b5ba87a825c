"""The members and invitations API, for a tenant's owners and admins; and the two public
account calls (password-reset request, invitation acceptance) a separate portal needs.

Every write is a service of apps/tenancy/accounts.py, so the role rules, the audit log and
the token revocation on deactivation are the same as in the admin.
"""

from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.throttling import LoginRateThrottle
from apps.tenancy import accounts
from apps.tenancy.account_views import PasswordResetRequestForm
from apps.tenancy.api.fields import TenantScopedRelatedField
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import MANAGER_ROLES, Invitation, Membership, Role, Site


class MemberSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    all_sites = serializers.BooleanField(required=False)
    sites = TenantScopedRelatedField(queryset=Site.objects.all(), many=True, required=False)
    has_password = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "all_sites", "sites", "is_active", "deactivated_at",
                  "has_password", "created_at"]
        read_only_fields = ["is_active", "deactivated_at", "created_at"]

    def get_has_password(self, membership) -> bool:
        """False until an invited person has set their password with the link."""
        return membership.user.has_usable_password()


class InvitationSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    member = serializers.CharField(source="membership.public_id", read_only=True)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "member", "email", "state", "expires_at", "used_at", "revoked_at", "created_at"]
        read_only_fields = fields


class InviteInput(serializers.Serializer):
    email = serializers.EmailField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.STAFF)
    all_sites = serializers.BooleanField(default=True)
    sites = TenantScopedRelatedField(queryset=Site.objects.all(), many=True, required=False)


def _bounded(sites):
    if len(sites) > 500:
        raise serializers.ValidationError("At most 500 sites.")
    return sites


MemberSerializer.validate_sites = staticmethod(_bounded)
InviteInput.validate_sites = staticmethod(_bounded)


class InviteOutput(serializers.Serializer):
    member = MemberSerializer()
    invitation = InvitationSerializer(allow_null=True, help_text="Null when the person already had a password: "
                                                                 "they were told they were added instead.")


class ResetOutput(serializers.Serializer):
    sent = serializers.ChoiceField(choices=["reset_sent", "invitation_sent"])


class MemberViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """The tenant's members, deactivated ones included (owners and admins)."""

    serializer_class = MemberSerializer
    queryset = Membership.everyone.select_related("user").prefetch_related("sites").order_by("user__username", "pk")
    read_roles = MANAGER_ROLES
    api_key_read_scope = None  # integrations never see or manage people
    site_field = None
    filterset_fields = ["role", "is_active", "all_sites"]

    def get_queryset(self):
        """A site-scoped manager sees their own membership and the site-scoped ones that share
        one of their sites (and grants only sites they cover: the service decides); anyone
        else's membership is not found."""
        memberships = super(TenantScopedViewMixin, self).get_queryset().filter(tenant=self.tenant)
        if self.scope.covers_tenant(self.tenant.pk):
            return memberships
        sharing = Membership.sites.through.objects.filter(site_id__in=self.scope.site_ids).values("membership_id")
        return memberships.filter(Q(user=self.request.user) | Q(all_sites=False, pk__in=sharing))

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = accounts.member_change(
            membership=serializer.instance, actor=self.request.user, role=data.get("role"),
            all_sites=data.get("all_sites"), sites=data.get("sites"))

    @extend_schema(request=None, responses=MemberSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, public_id=None):
        """Their access and refresh tokens and sessions are refused from the next request on."""
        membership = accounts.member_deactivate(membership=self.get_object(), actor=request.user)
        return Response(MemberSerializer(membership, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=MemberSerializer)
    @action(detail=True, methods=["post"])
    def reactivate(self, request, public_id=None):
        membership = accounts.member_reactivate(membership=self.get_object(), actor=request.user)
        return Response(MemberSerializer(membership, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=ResetOutput)
    @action(detail=True, methods=["post"], url_path="password-reset")
    def password_reset(self, request, public_id=None):
        """Email a password-reset link (a new invitation to someone who never set a password)."""
        sent = accounts.member_password_reset(membership=self.get_object(), actor=request.user)
        return Response({"sent": sent})


class InvitationViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Invite people by email; they choose their password with a single-use, expiring link."""

    serializer_class = InvitationSerializer
    queryset = Invitation.objects.select_related("membership")
    read_roles = MANAGER_ROLES
    api_key_read_scope = None

    @extend_schema(request=InviteInput, responses={201: InviteOutput})
    def create(self, request):
        data = InviteInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        outcome = accounts.member_invite(tenant=self.tenant, actor=request.user, **data.validated_data)
        body = InviteOutput({"member": outcome.membership, "invitation": outcome.invitation},
                            context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, public_id=None):
        invitation = self.get_object()
        accounts.invitation_revoke(invitation=invitation, actor=request.user)
        invitation.refresh_from_db()
        return Response(InvitationSerializer(invitation).data)


class PasswordResetRequestInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class InviteAcceptInput(serializers.Serializer):
    token = serializers.CharField(min_length=20, max_length=100)
    password = serializers.CharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)


class AcceptedOutput(serializers.Serializer):
    username = serializers.CharField()


class PasswordResetRequestApi(APIView):
    """Email a reset link to the account with this address, if any: the answer is 202 either way."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(request=PasswordResetRequestInput, responses={202: None})
    def post(self, request):
        data = PasswordResetRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        form = PasswordResetRequestForm(data={"email": data.validated_data["email"]})
        if form.is_valid():
            form.save(request=request)
        return Response(status=status.HTTP_202_ACCEPTED)


class InviteAcceptApi(APIView):
    """Set the invited person's password with the token from their invitation link, once."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(request=InviteAcceptInput, responses=AcceptedOutput)
    def post(self, request):
        data = InviteAcceptInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = accounts.invitation_accept(**data.validated_data)
        return Response({"username": user.username})
