"""Report generation and the monthly schedule (the `maintenance` queue)."""

from __future__ import annotations

from apps.reports.services import report_generate, schedules_run
from workers.base import tocsin_task


@tocsin_task(name="tocsin.reports.generate", max_retries=0, time_limit=900)
def generate_report(self, report_id: int) -> str | None:
    report = report_generate(report_id=report_id)
    return report.status if report else None


@tocsin_task(name="tocsin.reports.monthly", max_retries=0)
def monthly_reports(self) -> int:
    return schedules_run()
