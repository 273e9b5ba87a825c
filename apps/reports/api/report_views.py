"""Reports over the API: request one, list them with their status, download the PDF."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from apps.audit.services import Actor
from apps.common.errors import ConflictError, NotFoundError
from apps.reports import services
from apps.reports.api.serializers import SITE_ID, InstantField
from apps.reports.models import Report, ReportKind, ReportStatus
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import MANAGER_ROLES, OPERATOR_ROLES


class ReportSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    site = serializers.SlugRelatedField(slug_field="public_id", read_only=True)

    class Meta:
        model = Report
        fields = ["id", "kind", "site", "period_start", "period_end", "status", "error", "size", "created_at",
                  "generated_at", "emailed_at"]
        read_only_fields = fields


class ReportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ReportKind.choices)
    site = serializers.RegexField(SITE_ID, required=False)
    since = InstantField()
    until = InstantField()


class ReportViewSet(TenantScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Staff read reports; owners and admins request them. A request answers at once with the
    pending report; a worker generates it."""

    serializer_class = ReportSerializer
    queryset = Report.objects.select_related("site").defer("content")
    read_roles = OPERATOR_ROLES
    write_roles = MANAGER_ROLES
    pagination_class = None
    filterset_fields = ["kind", "status"]

    @extend_schema(request=ReportRequestSerializer, responses={202: ReportSerializer})
    def create(self, request, *args, **kwargs):
        query = ReportRequestSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        site = None
        if data.get("site"):
            site = self.scope.sites().filter(tenant=self.tenant, public_id=data["site"]).first()
            if site is None:
                raise NotFoundError("Site not found.")
        elif not self.scope.covers_tenant(self.tenant.pk):
            raise PermissionDenied("A report of the whole tenant needs a membership for every site: name a site.")
        report = services.report_request(tenant=self.tenant, kind=data["kind"], site=site, since=data["since"],
                                         until=data["until"], actor=Actor.for_principal(request.user),
                                         requested_by=request.user if request.user.is_authenticated
                                         and not getattr(request.user, "is_tenant_principal", False) else None)
        return Response(ReportSerializer(report).data, status=202)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, public_id=None):
        report = self.get_queryset().filter(public_id=public_id).first()
        if report is None:
            raise NotFoundError("Report not found.")
        if report.status != ReportStatus.READY:
            raise ConflictError(f"The report is {report.status}, not ready.", code="report_not_ready")
        response = HttpResponse(bytes(report.content), content_type="application/pdf")
        response["Content-Disposition"] = (f'attachment; filename="{self.tenant.slug}-{report.kind}-'
                                           f'{report.period_start:%Y%m%d}.pdf"')
        return response
