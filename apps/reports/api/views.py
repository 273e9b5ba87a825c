"""Analytics for the portal: every member of the tenant reads, and API keys with `read`."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.reports import selectors
from apps.reports.api import serializers as s
from apps.tenancy.api.mixins import TenantScopedViewMixin


class ScanAnalyticsApi(TenantScopedViewMixin, APIView):
    """Scans per hour or day in each site's timezone, age bands, and underage/invalid/expired rates."""

    @extend_schema(parameters=[s.ScanAnalyticsQuery], responses=s.ScanAnalyticsOutput)
    def get(self, request):
        query = s.ScanAnalyticsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        sites = selectors.analytics_sites(tenant=self.tenant, site_id=params.get("site"))
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
        sites = selectors.analytics_sites(tenant=self.tenant, site_id=query.validated_data.get("site"))
        now = timezone.now()
        stats = selectors.device_analytics(tenant=self.tenant, sites=sites, now=now)
        return Response(s.DeviceAnalyticsOutput({"at": now, "sites": stats}).data)
