"""Task → queue table. Every task must be listed; a test fails for one that isn't.

Queues: `critical` (alert raising, delivery of critical alerts), `notify` (other
deliveries), `default`, `maintenance` (cleanup, reports) and `retry`: retried tasks go
there so a storm of retries cannot starve first attempts.
"""

from kombu import Queue

QUEUE_NAMES = ("critical", "notify", "default", "maintenance", "retry")
QUEUES = tuple(Queue(name, routing_key=name) for name in QUEUE_NAMES)
RETRY_QUEUE = "retry"

TASK_ROUTES: dict[str, dict[str, str]] = {
    "tocsin.housekeeping.audit_anchor": {"queue": "maintenance"},
    "tocsin.housekeeping.audit_verify": {"queue": "maintenance"},
    "tocsin.housekeeping.flush_expired_tokens": {"queue": "maintenance"},
    "tocsin.housekeeping.ping": {"queue": "default"},
    "tocsin.housekeeping.retention": {"queue": "maintenance"},
    "tocsin.iot.sync_revocations": {"queue": "default"},
    "tocsin.iot.purge_seen_messages": {"queue": "maintenance"},
    "tocsin.alerts.offline_sweep": {"queue": "critical"},
    "tocsin.alerts.drift_sweep": {"queue": "default"},
    "tocsin.alerts.expire_commands": {"queue": "default"},
    "tocsin.notify.deliver": {"queue": "notify"},
    "tocsin.notify.deliver_critical": {"queue": "critical"},
    "tocsin.notify.escalation_tick": {"queue": "critical"},
    "tocsin.oncall.shift_notices": {"queue": "default"},
    "tocsin.notify.sweep_outbox": {"queue": "default"},
    "tocsin.reports.generate": {"queue": "maintenance"},
    "tocsin.reports.monthly": {"queue": "maintenance"},
}
