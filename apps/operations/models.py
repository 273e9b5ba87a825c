"""Heartbeats of the platform's own processes.

Invariant: one row per beating thing (`beat`, `worker:<hostname>`, `task:<task name>`),
written by an upsert, so a heartbeat never grows a table and two writers never conflict.
They are telemetry about Tocsin itself, not tenant data: no tenant, no audit.
"""

from __future__ import annotations

from django.db import models


class HeartbeatKind(models.TextChoices):
    BEAT = "beat", "Celery beat"
    WORKER = "worker", "Celery worker"
    TASK = "task", "Periodic task ran"


class Heartbeat(models.Model):
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=HeartbeatKind.choices)
    seen_at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
