"""Reports in the admin: listed with their status and downloadable; schedules kept by owners
and admins through the services, so each change is audited."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.audit.services import Actor
from apps.reports import services
from apps.reports.models import Report, ReportSchedule, ReportStatus
from apps.tenancy.admin_base import ReadOnlyTenantScopedAdmin, TenantScopedAdmin


@admin.register(Report)
class ReportAdmin(ReadOnlyTenantScopedAdmin):
    list_display = ("created_at", "kind", "site", "period_start", "period_end", "status", "size", "download",
                    "tenant")
    list_filter = ("kind", "status", "tenant")
    list_select_related = ("site", "tenant")
    exclude = ("content",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

    @admin.display(description="PDF")
    def download(self, report):
        if report.status != ReportStatus.READY:
            return "-"
        return format_html('<a href="{}">download</a>', reverse("admin:reports_report_download", args=[report.pk]))

    def get_urls(self):
        download = path("<int:pk>/download/", self.admin_site.admin_view(self.download_view),
                        name="reports_report_download")
        return [download, *super().get_urls()]

    def download_view(self, request, pk: int):
        report = self.get_queryset(request).filter(pk=pk, status=ReportStatus.READY).first()
        if report is None:
            raise Http404("No such report.")
        response = HttpResponse(bytes(Report.objects.values_list("content", flat=True).get(pk=report.pk)),
                                content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{report.kind}-{report.period_start:%Y%m%d}.pdf"'
        return response


@admin.register(ReportSchedule)
class ReportScheduleAdmin(TenantScopedAdmin):
    list_display = ("kind", "site", "enabled", "tenant")
    list_filter = ("kind", "enabled", "tenant")
    filter_horizontal = ("recipients",)

    def save_model(self, request, obj, form, change):
        """Saved with its recipients in `save_related`, in one call to the service."""

    def save_related(self, request, form, formsets, change):
        data = form.cleaned_data
        saved = services.schedule_save(tenant=data["tenant"], site=data.get("site"), kind=data["kind"],
                                       recipients=list(data.get("recipients") or []), enabled=data["enabled"],
                                       actor=Actor.for_user(request.user), schedule=form.instance if change else None)
        form.instance = saved

    def delete_model(self, request, obj):
        services.schedule_delete(schedule=obj, actor=Actor.for_user(request.user))

    def delete_queryset(self, request, queryset):
        for schedule in queryset:
            services.schedule_delete(schedule=schedule, actor=Actor.for_user(request.user))
