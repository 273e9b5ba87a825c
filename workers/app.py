"""The Celery application, configured from Django settings (`CELERY_*`).

Task modules are imported by `WorkersConfig.ready()` once Django's apps are loaded, so
they may import services at module level without racing app registry set-up.
"""

from __future__ import annotations

import os

from celery import Celery

from workers.routes import QUEUES, TASK_ROUTES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")

app = Celery("tocsin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_routes = TASK_ROUTES
app.conf.task_queues = QUEUES
app.conf.task_create_missing_queues = False

import workers.signals  # noqa: E402,F401  (request-id propagation handlers)
