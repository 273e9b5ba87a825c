"""What a notification says, rendered from the alert, in the site's timezone."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.alerts.models import Alert
from apps.notifications import page_actions
from apps.notifications.models import Channel, Purpose


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    data: dict = field(default_factory=dict)


def _local(alert: Alert, moment) -> str:
    zone = ZoneInfo(alert.site.timezone) if alert.site_id else ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%H:%M %Z")


def render(alert: Alert, purpose: str, channel: Channel | None = None) -> Message:
    """What `purpose` says about the alert (every provider's text comes from here); a page to
    `channel` also says how to answer it from there (reply codes by phone, links by email:
    see `apps.notifications.page_actions`)."""
    message = _render(alert, purpose)
    if channel is not None and purpose == Purpose.PAGE:
        return page_actions.decorate(message, alert=alert, channel=channel)
    return message


def _what(alert: Alert) -> tuple[str, str]:
    """(what, where): with a device's place, "Room breach, Room 305, Harbour Hotel Lisbon: <summary>"
    and no separate place; else the summary and " at <site>"."""
    label = alert.device.location_label if alert.device_id else ""
    if label:
        head = ", ".join([alert.get_kind_display(), label, *([alert.site.name] if alert.site_id else [])])
        return f"{head}: {alert.summary}", ""
    return alert.summary, (f" at {alert.site.name}" if alert.site_id else "")


def _render(alert: Alert, purpose: str) -> Message:
    what, where = _what(alert)
    link = f"{settings.TOCSIN_PUBLIC_BASE_URL}/board/?alert={alert.public_id}"
    data = {"alert_id": alert.public_id, "kind": alert.kind, "severity": alert.severity, "status": alert.status,
            "summary": alert.summary, "site": alert.site.location_id if alert.site_id else None,
            "device": alert.device.public_id if alert.device_id else None, "count": alert.count,
            "location_label": alert.device.location_label if alert.device_id else "",
            "first_seen_at": alert.first_seen_at.isoformat(), "purpose": purpose, "url": link}
    if purpose == Purpose.ACKNOWLEDGED:
        who = alert.acknowledged_by_label or "someone"
        text = f"ACK: {what}{where} acknowledged by {who} at {_local(alert, alert.acknowledged_at)}."
        return Message(subject=f"[Tocsin] Acknowledged: {what}", text=text, data=data)
    if purpose == Purpose.RESOLVED:
        text = f"RESOLVED: {what}{where} at {_local(alert, alert.resolved_at)}."
        return Message(subject=f"[Tocsin] Resolved: {what}", text=text, data=data)
    repeat = f" (x{alert.count})" if alert.count > 1 else ""
    text = (f"{alert.severity.upper()}: {what}{where}{repeat}, since {_local(alert, alert.first_seen_at)}."
            f" {link}")
    return Message(subject=f"[Tocsin] {alert.severity.upper()}: {what}", text=text, data=data)


def _placed(data: dict) -> str:
    label = data.get("location_label") or ""
    return data["summary"] if not label or label in data["summary"] else f"{label}: {data['summary']}"


def bundle(messages: list[Message]) -> Message:
    """Several alerts to one phone number within a short window become one SMS; each line
    carries its alert's reply code, and the reply must name one."""
    if len(messages) == 1:
        return messages[0]
    lines = [f"{len(messages)} alerts:"] + [
        f"- {m.data['severity'].upper()}: {_placed(m.data)}"
        + (f" [{m.data['reply_code']}]" if m.data.get("reply_code") else "") for m in messages]
    if any(m.data.get("reply_code") for m in messages):
        lines.append(page_actions.bundle_instructions())
    return Message(subject=f"[Tocsin] {len(messages)} alerts", text="\n".join(lines),
                   data={"alerts": [m.data for m in messages]})
