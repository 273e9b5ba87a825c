"""`/metrics`: Prometheus exposition for every web worker at once.

Under gunicorn each worker process has its own counters. With `PROMETHEUS_MULTIPROC_DIR`
set (as `make run` and the Docker image do), prometheus_client keeps them in shared files
and one scrape sums all workers; the collectors that read the database (the outbox, the platform's heartbeats) are
added to that registry too, so nothing is left out.
"""

from __future__ import annotations

import os

import prometheus_client
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import multiprocess

from apps.notifications.metrics import OutboxCollector
from apps.operations.metrics import PlatformCollector


@never_cache
def metrics(request):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(OutboxCollector())
        registry.register(PlatformCollector())
    else:
        registry = prometheus_client.REGISTRY
    return HttpResponse(prometheus_client.generate_latest(registry), content_type=prometheus_client.CONTENT_TYPE_LATEST)
