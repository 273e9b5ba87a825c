from __future__ import annotations

from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.audit.services import Actor
from apps.notifications import channels, delivery, policies, selectors
from apps.notifications.api import serializers as s
from apps.notifications.models import Channel, EscalationPolicy, Notification
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import MANAGER_ROLES, OPERATOR_ROLES


class ChannelViewSet(TenantScopedViewMixin, viewsets.ModelViewSet):
    """Where notifications go; managed by owners and admins. Secrets are write-only."""

    serializer_class = s.ChannelSerializer
    queryset = Channel.objects.filter(personal=False)  # personal channels belong to people, not to this list
    read_roles = MANAGER_ROLES
    api_key_read_scope = None
    filterset_fields = ["kind", "enabled"]
    whole_tenant_only = True  # a channel pages for every site

    def perform_create(self, serializer):
        serializer.instance = channels.channel_create(tenant=self.tenant, actor=Actor.for_principal(self.request.user),
                                                      **serializer.validated_data)

    def perform_destroy(self, instance):
        channels.channel_delete(channel=instance, actor=Actor.for_principal(self.request.user))

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        changes.pop("kind", None)  # a channel's kind is fixed; make a new channel instead
        serializer.instance = channels.channel_update(channel=serializer.instance,
                                                      actor=Actor.for_principal(self.request.user), **changes)

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def test(self, request, public_id=None):
        result = channels.channel_send_test(channel=self.get_object(), actor=Actor.for_principal(request.user))
        body = {"ok": result.ok, "provider": result.provider, "provider_message_id": result.provider_message_id,
                "error": result.error or None, "code": result.code or None}
        return Response(body, status=status.HTTP_200_OK if result.ok else status.HTTP_502_BAD_GATEWAY)


class PolicyViewSet(TenantScopedViewMixin, viewsets.ModelViewSet):
    """Who is paged for which alerts. A policy always has steps; the tenant's last enabled
    policy can't be deleted or disabled (409), so no alert is ever routed nowhere."""

    serializer_class = s.PolicySerializer
    queryset = EscalationPolicy.objects.prefetch_related("steps__channels", "steps__users", "steps__rosters",
                                                         "sites")
    read_roles = MANAGER_ROLES
    api_key_read_scope = None
    whole_tenant_only = True  # policies route every site's alerts

    def _save(self, serializer, policy=None):
        data = dict(serializer.validated_data)
        if "steps" in data:
            steps = [policies.step_from_ids(tenant=self.tenant, step=step) for step in data.pop("steps")]
        else:  # a partial update that leaves the steps alone
            steps = policies.steps_of(policy)
        if policy is not None:  # a partial update keeps what it doesn't name
            data.setdefault("name", policy.name)
            data.setdefault("kinds", policy.kinds)
            data.setdefault("severities", policy.severities)
            data.setdefault("sites", list(policy.sites.all()))
        serializer.instance = policies.policy_save(tenant=self.tenant, actor=Actor.for_principal(self.request.user),
                                                   steps=steps, policy=policy, **data)

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, policy=serializer.instance)

    def perform_destroy(self, instance):
        policies.policy_delete(policy=instance, actor=Actor.for_principal(self.request.user))

    @extend_schema(parameters=[s.RoutingQuery], responses=s.RoutingEntrySerializer(many=True))
    @action(detail=False, methods=["get"], url_path="routing-preview")
    def routing_preview(self, request):
        """Which policy would page an alert of each kind and severity at each site, and whom
        its first step pages; entries that would page nobody say why."""
        query = s.RoutingQuery(data=request.query_params, context={"tenant": self.tenant})
        query.is_valid(raise_exception=True)
        entries = selectors.routing_preview(tenant=self.tenant, **query.validated_data)
        return Response(s.RoutingEntrySerializer(entries, many=True).data)


class NotificationViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """Deliveries: who was told what, with receipts; dead and failed ones can be replayed."""

    serializer_class = s.NotificationSerializer
    queryset = Notification.objects.select_related("alert", "channel")
    filterset_fields = {"status": ["exact", "in"], "alert__public_id": ["exact"], "purpose": ["exact"]}
    action_roles = {"replay": OPERATOR_ROLES}

    @extend_schema(request=None, responses=s.NotificationSerializer)
    @action(detail=True, methods=["post"])
    def replay(self, request, public_id=None):
        notification = delivery.replay(self.get_object())
        return Response(s.NotificationSerializer(Notification.objects.select_related("alert", "channel")
                                                 .get(pk=notification.pk)).data)
