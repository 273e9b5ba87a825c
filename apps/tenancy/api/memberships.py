"""`/api/v1/memberships/`: the tenant's members, their role and the sites they cover.

Owners and admins read and change them (role, all sites or chosen sites) through the
membership service, which holds them to the role and site rules and audits the change. A
site-scoped manager sees their own membership and the site-scoped ones that share one of
their sites, and can grant only sites they cover; anyone else's membership is not found.
"""

from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from apps.tenancy import services
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import MANAGER_ROLES, Membership, Role, Site


class MembershipOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    sites = serializers.SlugRelatedField(slug_field="public_id", many=True, read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "all_sites", "sites", "created_at"]
        read_only_fields = fields


class MembershipUpdateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    all_sites = serializers.BooleanField(required=False, help_text="Every site of the tenant, present and future.")
    sites = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=500,
                                  help_text="Public ids of the sites covered; naming them limits the "
                                            "membership to them.")

    def validate_sites(self, value):
        """Sites of the tenant within the caller's scope; any other id is 'not found'."""
        found = {site.public_id: site for site in self.context["scope"].filter(
            Site.objects.filter(tenant=self.context["tenant"], public_id__in=value))}
        missing = sorted(set(value) - set(found))
        if missing:
            raise serializers.ValidationError(f"No such site: {', '.join(missing[:5])}.")
        return [found[public_id] for public_id in dict.fromkeys(value)]


class MembershipViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = MembershipOutput
    queryset = Membership.objects.select_related("user").prefetch_related("sites").order_by("user__username", "pk")
    read_roles = MANAGER_ROLES
    api_key_read_scope = None  # integrations never see or manage people
    site_field = None
    filterset_fields = ["role", "all_sites"]

    def get_queryset(self):
        memberships = super(TenantScopedViewMixin, self).get_queryset().filter(tenant=self.tenant)
        if self.scope.covers_tenant(self.tenant.pk):
            return memberships
        sharing = Membership.sites.through.objects.filter(site_id__in=self.scope.site_ids).values("membership_id")
        return memberships.filter(Q(user=self.request.user) | Q(all_sites=False, pk__in=sharing))

    @extend_schema(request=MembershipUpdateInput, responses=MembershipOutput)
    def update(self, request, *args, **kwargs):
        membership = self.get_object()
        data = MembershipUpdateInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        changes = data.validated_data
        updated = services.membership_set(
            tenant=self.tenant, user=membership.user, role=changes.get("role", membership.role),
            actor=request.user, all_sites=changes.get("all_sites"), sites=changes.get("sites"))
        return Response(MembershipOutput(self.get_queryset().get(pk=updated.pk)).data)

    @extend_schema(request=MembershipUpdateInput, responses=MembershipOutput)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

