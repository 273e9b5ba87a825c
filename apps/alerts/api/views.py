"""People's alert API, and the PagerDuty-shaped events API for integrations."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.alerts import selectors, services
from apps.alerts.api import serializers as s
from apps.alerts.bulk import alert_bulk_apply
from apps.alerts.event_input import validate_event
from apps.alerts.external_events import external_event_process
from apps.alerts.models import OPEN_STATUSES, Alert, AlertKind, AlertStatus, Severity
from apps.alerts.snoozing import alert_snooze, snooze_minutes
from apps.audit.services import Actor
from apps.common.pagination import DefaultCursorPagination
from apps.common.privacy import refuse_personal_data
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import OPERATOR_ROLES


class AlertFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AlertStatus.choices)
    kind = django_filters.MultipleChoiceFilter(choices=AlertKind.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    site = django_filters.CharFilter(field_name="site__public_id")
    device = django_filters.CharFilter(field_name="device__public_id")
    since = django_filters.IsoDateTimeFilter(field_name="last_seen_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="last_seen_at", lookup_expr="lt")
    open = django_filters.BooleanFilter(method="filter_open")

    class Meta:
        model = Alert
        fields = []

    def filter_open(self, queryset, name, value):
        open_statuses = Q(status__in=OPEN_STATUSES)
        return queryset.filter(open_statuses) if value else queryset.exclude(open_statuses)


class AlertPagination(DefaultCursorPagination):
    ordering = ("-last_seen_at", "-id")


class AlertViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   viewsets.GenericViewSet):
    """Alerts of the tenant. Everyone reads; owners, admins and staff act on them."""

    queryset = Alert.objects.all()
    filterset_class = AlertFilter
    pagination_class = AlertPagination
    write_roles = OPERATOR_ROLES

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.alert_detail_queryset(tenant=self.tenant, scope=self.scope)
        return selectors.alert_list(tenant=self.tenant, scope=self.scope)

    def get_serializer_class(self):
        return s.AlertDetailSerializer if self.action == "retrieve" else s.AlertSerializer

    def _actor(self) -> Actor:
        return Actor.for_principal(self.request.user)

    def _lifecycle(self, request, change) -> Response:
        alert = self.get_object()
        data = s.NoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        alert = change(alert=alert, actor=self._actor(), note=data.validated_data["note"])
        return Response(s.AlertDetailSerializer(selectors.alert_detail_queryset(tenant=self.tenant)
                                                .get(pk=alert.pk)).data)

    def _user(self):
        return self.request.user if getattr(self.request.user, "is_authenticated", False) else None

    @extend_schema(request=s.NoteInput, responses=s.AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, public_id=None):
        return self._lifecycle(request, lambda **kw: services.alert_acknowledge(user=self._user(), **kw))

    @extend_schema(request=s.NoteInput, responses=s.AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, public_id=None):
        return self._lifecycle(request, lambda **kw: services.alert_resolve(user=self._user(), **kw))

    @extend_schema(request=s.NoteInput, responses=s.AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, public_id=None):
        return self._lifecycle(request, services.alert_reopen)

    @extend_schema(request=s.SnoozeInput, responses=s.AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request, public_id=None):
        """No page until then; pages again from the first step if still triggered."""
        alert = self.get_object()
        data = s.SnoozeInput(data=request.data)
        data.is_valid(raise_exception=True)
        until = data.validated_data.get("until") or snooze_minutes(data.validated_data["minutes"])
        alert = alert_snooze(alert=alert, actor=self._actor(), until=until, via="api")
        return Response(s.AlertDetailSerializer(selectors.alert_detail_queryset(tenant=self.tenant)
                                                .get(pk=alert.pk)).data)

    @extend_schema(request=s.RequiredNoteInput, responses=s.AlertDetailSerializer)
    @action(detail=True, methods=["post"])
    def notes(self, request, public_id=None):
        alert = self.get_object()
        data = s.RequiredNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.alert_add_note(alert=alert, actor=self._actor(), note=data.validated_data["note"])
        return Response(s.AlertDetailSerializer(selectors.alert_detail_queryset(tenant=self.tenant)
                                                .get(pk=alert.pk)).data, status=status.HTTP_201_CREATED)

    def _bulk(self, request, change: str) -> Response:
        data = s.BulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        results = alert_bulk_apply(alerts=self.get_queryset(), ids=data.validated_data["ids"], change=change,
                                   actor=self._actor(), note=data.validated_data["note"], user=self._user())
        return Response({"results": results})

    @extend_schema(request=s.BulkInput, responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["post"], url_path="bulk-acknowledge")
    def bulk_acknowledge(self, request):
        return self._bulk(request, "acknowledge")

    @extend_schema(request=s.BulkInput, responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["post"], url_path="bulk-resolve")
    def bulk_resolve(self, request):
        return self._bulk(request, "resolve")


class EventsApi(TenantScopedViewMixin, APIView):
    """`POST /api/v1/events/`: trigger, acknowledge or resolve by dedup key (API key with
    the write_events scope). Answers like PagerDuty's Events v2 endpoint.

    Monitors put whatever they like into summaries, dedup keys and custom details, which
    become SMS text and audit entries: personal data is refused in any of them first."""

    api_key_write_scope = "write_events"
    write_roles = OPERATOR_ROLES
    whole_tenant_only = True  # dedup keys and site-less alerts are tenant-wide
    typed_fields = frozenset({"event_action", "routing_key", "severity"})

    @extend_schema(request=s.EventInput, responses={202: OpenApiTypes.OBJECT})
    def post(self, request):
        refuse_personal_data(request.data, typed_fields=self.typed_fields)
        event, errors = validate_event(request.data)  # EventInput's contract, without building it
        if errors:
            raise ValidationError(errors)
        outcome = external_event_process(tenant=self.tenant, actor=Actor.for_principal(request.user), event=event)
        return Response({"status": "success", "message": "Event processed", "dedup_key": outcome.dedup_key,
                         "alert_id": outcome.alert.public_id}, status=status.HTTP_202_ACCEPTED)
