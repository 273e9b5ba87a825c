"""The default beat schedule, installed into django-celery-beat by `setup_periodic_tasks`.

Kept in the database (not in code-only beat config) so operators see and tune it in the
admin; the command is idempotent and updates the rows it owns.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    every_seconds: int
    description: str


DEFAULT_SCHEDULE: tuple[PeriodicJob, ...] = (
    PeriodicJob(
        name="Escalation tick",
        task="tocsin.notify.escalation_tick",
        every_seconds=10,
        description="Writes the escalation steps that fell due (acknowledged alerts have none).",
    ),
    PeriodicJob(
        name="On-call shift notices",
        task="tocsin.oncall.shift_notices",
        every_seconds=60,
        description="Emails each person when their on-call shift starts (once per shift, whatever the runs).",
    ),
    PeriodicJob(
        name="Outbox sweeper",
        task="tocsin.notify.sweep_outbox",
        every_seconds=20,
        description="Re-publishes deliveries that were committed but never picked up (broker outage, dead worker).",
    ),
    PeriodicJob(
        name="Offline device sweep",
        task="tocsin.alerts.offline_sweep",
        every_seconds=30,
        description="Raises 'device offline' for devices silent for N heartbeat intervals.",
    ),
    PeriodicJob(
        name="Shadow drift sweep",
        task="tocsin.alerts.drift_sweep",
        every_seconds=30,
        description="Raises 'configuration drift' for devices that have not reported their desired configuration "
                    "within TOCSIN_SHADOW_DRIFT_SECONDS.",
    ),
    PeriodicJob(
        name="Command expiry",
        task="tocsin.alerts.expire_commands",
        every_seconds=15,
        description="Marks device commands not acknowledged in time as expired, saying so.",
    ),
    PeriodicJob(
        name="Retention cleanup",
        task="tocsin.housekeeping.retention",
        every_seconds=3600,
        description="Deletes, per tenant and in bounded batches, health samples, telemetry, scans, resolved alerts "
                    "(with their timelines and deliveries), generated reports and audit entries past the tenant's "
                    "retention, except under a legal hold, then archived devices, channels and sites left without "
                    "history; and expired challenges and enrolments, superseded refresh credentials, and setup "
                    "tokens unused 30 days after expiry.",
    ),
    PeriodicJob(
        name="Audit anchor",
        task="tocsin.housekeeping.audit_anchor",
        every_seconds=3600,
        description="Writes a signed checkpoint of each audit chain's newest entry (and logs it), so removing "
                    "the newest entries is detected.",
    ),
    PeriodicJob(
        name="Audit verification",
        task="tocsin.housekeeping.audit_verify",
        every_seconds=6 * 3600,
        description="Verifies every audit chain against its keyed hashes and anchors; a break raises a critical "
                    "alert in the operator tenant.",
    ),
    PeriodicJob(
        name="Monthly reports",
        task="tocsin.reports.monthly",
        every_seconds=3600,
        description="Once per schedule and month: generates last calendar month's (UTC) report and emails it to "
                    "the schedule's recipients.",
    ),
    PeriodicJob(
        name="Flush expired auth tokens",
        task="tocsin.housekeeping.flush_expired_tokens",
        every_seconds=6 * 3600,
        description="Removes expired refresh tokens and their blacklist entries.",
    ),
    PeriodicJob(
        name="MQTT revocation sweep",
        task="tocsin.iot.sync_revocations",
        every_seconds=30,
        description="Cuts gateways revoked anywhere (devices API, admin) off the broker; retries a missed removal.",
    ),
    PeriodicJob(
        name="MQTT message-id window",
        task="tocsin.iot.purge_seen_messages",
        every_seconds=3600,
        description="Forgets MQTT message ids older than MQTT_DEDUP_WINDOW_HOURS (dedup layer 1).",
    ),
)
