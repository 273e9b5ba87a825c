"""Rendering report figures to PDF: reportlab for the document, matplotlib (the Agg backend,
no display needed) for the charts, drawn on the server and embedded as images.
"""

from __future__ import annotations

import io
from datetime import datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen before pyplot loads)
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import getSampleStyleSheet  # noqa: E402
from reportlab.lib.units import cm  # noqa: E402
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # noqa: E402

from apps.alerts.models import SEVERITY_ORDER  # noqa: E402
from apps.reports.figures import ComplianceFigures, OperationsFigures  # noqa: E402

STYLES = getSampleStyleSheet()
CHART_COLOUR = "#2f6db5"


def _chart(draw, *, width: float = 16, height: float = 5.5) -> Image:
    figure, axes = plt.subplots(figsize=(width / 2.54, height / 2.54), dpi=150)
    try:
        draw(axes)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    buffer.seek(0)
    return Image(buffer, width=width * cm, height=height * cm)


def _bars(labels, values, title: str, *, rotate: bool = False):
    def draw(axes):
        axes.bar(range(len(values)), values, color=CHART_COLOUR)
        axes.set_xticks(range(len(labels)), labels, rotation=90 if rotate else 0, fontsize=6)
        axes.set_title(title, fontsize=9)
        axes.tick_params(axis="y", labelsize=7)
    return _chart(draw)


def _table(rows: list[list], *, widths: list[float] | None = None) -> Table:
    body = [[Paragraph(str(cell), STYLES["BodyText"]) if isinstance(cell, str) and len(cell) > 40 else cell
             for cell in row] for row in rows]
    table = Table(body, colWidths=[w * cm for w in widths] if widths else None, repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _header(title: str, *, tenant: str, scope: str, period: str, generated: str) -> list:
    return [Paragraph(title, STYLES["Title"]),
            Paragraph(f"<b>{tenant}</b> · {scope}", STYLES["Heading3"]),
            Paragraph(f"Period: {period}", STYLES["BodyText"]),
            Paragraph(f"Generated: {generated}", STYLES["BodyText"]),
            Spacer(1, 0.4 * cm)]


def _build(story: list, title: str) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=title, author="Tocsin",
                                 leftMargin=2 * cm, rightMargin=2 * cm, topMargin=1.5 * cm, bottomMargin=1.5 * cm)
    document.build(story)
    return buffer.getvalue()


def compliance_pdf(figures: ComplianceFigures, *, tenant: str, scope: str, period: str, generated: str) -> bytes:
    story = _header("Compliance report", tenant=tenant, scope=scope, period=period, generated=generated)
    story += [Paragraph("Scans", STYLES["Heading2"]), _table([
        ["Scans", "Underage", "Underage rate", "Invalid", "Invalid rate", "Expired", "Expired rate"],
        [f"Scans: {figures.scans}", f"Underage: {figures.underage}", _rate(figures.underage, figures.scans),
         figures.invalid, _rate(figures.invalid, figures.scans), figures.expired,
         _rate(figures.expired, figures.scans)]])]
    story += [Spacer(1, 0.3 * cm),
              _bars([d for d, _ in figures.per_day], [c for _, c in figures.per_day], "Scans per day", rotate=True),
              _bars([f"{h:02d}" for h in range(24)], figures.per_hour, "Scans by hour of day (local time)")]
    bands = sorted(figures.age_bands.items())
    story += [Paragraph("Age bands", STYLES["Heading2"]),
              _table([["Age band", "Scans"], *[[band, count] for band, count in bands]])]
    story += [Paragraph(f"Underage incidents ({len(figures.incidents)})", STYLES["Heading2"])]
    if not figures.incidents:
        story.append(Paragraph("None in this period.", STYLES["BodyText"]))
    for incident in figures.incidents:
        story += [Paragraph(f"<b>{incident.at_local}</b> at {incident.site}: {incident.summary} "
                            f"[{incident.alert_id}]", STYLES["BodyText"]),
                  Paragraph(f"Status {incident.status}; acknowledged by {incident.acknowledged_by} "
                            f"after {incident.time_to_acknowledge}", STYLES["BodyText"]),
                  _table([["When", "Event", "By"], *[list(step) for step in incident.timeline]],
                         widths=[5, 4, 7]),
                  Spacer(1, 0.2 * cm)]
    story += [Paragraph(f"Document reuse ({len(figures.reuse)})", STYLES["Heading2"])]
    if figures.reuse:
        story.append(_table([["First seen", "Document (hash prefix)", "Why", "Scans"],
                             *[list(row) for row in figures.reuse]]))
    else:
        story.append(Paragraph("None in this period.", STYLES["BodyText"]))
    return _build(story, "Compliance report")


def operations_pdf(figures: OperationsFigures, *, tenant: str, scope: str, period: str, generated: str) -> bytes:
    story = _header("Operations report", tenant=tenant, scope=scope, period=period, generated=generated)
    severities = tuple(severity.value for severity in reversed(SEVERITY_ORDER))
    story += [Paragraph(f"Alerts: {figures.alerts}", STYLES["Heading2"]),
              _table([["Kind", *severities, "Total"],
                      *[[kind, *[counts.get(s, 0) for s in severities], sum(counts.values())]
                        for kind, counts in sorted(figures.by_kind.items())]])]
    kinds = sorted(figures.by_kind)
    story.append(_bars(kinds, [sum(figures.by_kind[k].values()) for k in kinds], "Alerts by kind"))
    story += [Paragraph("Response times", STYLES["Heading2"]),
              _table([["", "p50", "p90"], ["Time to acknowledge (MTTA)", *figures.mtta],
                      ["Time to resolve (MTTR)", *figures.mttr]])]
    story += [Paragraph("Deliveries by channel and outcome", STYLES["Heading2"])]
    if figures.deliveries:
        story.append(_table([["Channel", "Kind", "Outcome", "Count"], *[list(row) for row in figures.deliveries]]))
        outcomes: dict[str, int] = {}
        for _, _, status, count in figures.deliveries:
            outcomes[status] = outcomes.get(status, 0) + count
        story.append(_bars(list(outcomes), list(outcomes.values()), "Deliveries by outcome"))
    else:
        story.append(Paragraph("No deliveries in this period.", STYLES["BodyText"]))
    story += [Paragraph("Device uptime", STYLES["Heading2"]),
              _table([["Device", "Site", "Uptime"], *[[d, s, f"{u:.2f}%"] for d, s, u in figures.uptime]])]
    return _build(story, "Operations report")


def period_label(since: datetime, until: datetime, zone) -> str:
    return f"{since.astimezone(zone):%Y-%m-%d %H:%M} to {until.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"
