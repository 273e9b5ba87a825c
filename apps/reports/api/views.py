"""Analytics for the portal: every member of the tenant reads, and API keys with `read`."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import exceptions, generics
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.errors import NotFoundError
from apps.common.pagination import DefaultCursorPagination
from apps.devices.models import Device
from apps.ingest.models import Scan
from apps.reports import exports, selectors
from apps.reports.api import serializers as s
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import Site


class ScanAnalyticsApi(TenantScopedViewMixin, APIView):
    """Scans per hour or day in each site's timezone, age bands, and underage/invalid/expired rates."""

    @extend_schema(parameters=[s.ScanAnalyticsQuery], responses=s.ScanAnalyticsOutput)
    def get(self, request):
        query = s.ScanAnalyticsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        sites = selectors.analytics_sites(tenant=self.tenant, site_id=params.get("site"), scope=self.scope)
        stats = selectors.scan_analytics(tenant=self.tenant, since=params["since"], until=params["until"],
                                         bucket=params["bucket"], sites=sites)
        return Response(s.ScanAnalyticsOutput({"since": params["since"], "until": params["until"],
                                               "bucket": params["bucket"], "sites": stats}).data)


class DeviceAnalyticsApi(TenantScopedViewMixin, APIView):
    """Online/offline, battery and health per site, judged by each site's rules."""

    @extend_schema(parameters=[s.SiteQuery], responses=s.DeviceAnalyticsOutput)
    def get(self, request):
        query = s.SiteQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        sites = selectors.analytics_sites(tenant=self.tenant, site_id=query.validated_data.get("site"),
                                          scope=self.scope)
        now = timezone.now()
        stats = selectors.device_analytics(tenant=self.tenant, sites=sites, now=now)
        return Response(s.DeviceAnalyticsOutput({"at": now, "sites": stats}).data)


def _scan_filters(view, params: dict) -> dict:
    """Query parameters → selector filters; a site or device of another tenant, or outside the
    caller's sites, is not found."""
    filters = {key: params[key] for key in ("since", "until", "underage", "valid") if key in params}
    if params.get("site"):
        filters["site"] = view.scope.filter(Site.objects.for_tenant(view.tenant)).filter(
            public_id=params["site"]).first()
        if filters["site"] is None:
            raise NotFoundError("Site not found.")
    if params.get("device"):
        filters["device"] = view.scope.filter(Device.objects.for_tenant(view.tenant)).filter(
            public_id=params["device"]).first()
        if filters["device"] is None:
            raise NotFoundError("Device not found.")
    return filters


class ScanCursorPagination(DefaultCursorPagination):
    ordering = ("-scanned_at", "-id")


class ScanListApi(TenantScopedViewMixin, generics.ListAPIView):
    """The tenant's scans, newest first, in cursor pages. Filters: site, device, since, until,
    underage, valid."""

    serializer_class = s.ScanOutput
    pagination_class = ScanCursorPagination

    @extend_schema(parameters=[s.ScanListQuery])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no caller
            return Scan.objects.none()
        query = s.ScanListQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return self.scope.filter(selectors.scan_list(tenant=self.tenant, **_scan_filters(self, query.validated_data))
                                 .select_related("site", "device"))


class CsvRenderer(BaseRenderer):
    """Lets a client ask for `text/csv`; errors are still JSON, the house's one error shape."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


class ExportApi(TenantScopedViewMixin, APIView):
    """A CSV export, streamed: `scans` (the scan list's filters), `alerts` (one row per timeline
    event; site, since, until), `notifications` (site, since, until), `audit` (since, until;
    owners and admins)."""

    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(parameters=[s.ScanListQuery], responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, name: str):
        export = exports.EXPORTS.get(name)
        if export is None:
            raise NotFoundError("No such export.")
        if export.roles is not None and not self.tenant_context.has_role(export.roles):
            raise exceptions.PermissionDenied()
        if export.whole_tenant_only and not self.scope.covers_tenant(self.tenant.pk):
            raise exceptions.PermissionDenied()
        query = s.ScanListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        header, rows = export.produce(tenant=self.tenant, filters=_scan_filters(self, query.validated_data),
                                      scope=self.scope)
        response = StreamingHttpResponse(exports.csv_lines(header, rows), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="{self.tenant.slug}-{name}-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response
