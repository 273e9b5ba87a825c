"""`/metrics`: Prometheus exposition for every web worker at once.

Under gunicorn each worker process has its own counters. With `PROMETHEUS_MULTIPROC_DIR`
set (as `make run` and the Docker image do), prometheus_client keeps them in shared files
and one scrape sums all workers; the collectors that read the database (the outbox, the platform's heartbeats) are
added to that registry too, so nothing is left out.

The figures name tenants' queues, failures and volumes, so a scrape needs
`Authorization: Bearer <METRICS_TOKEN>` (401 otherwise). Without a token configured the
endpoint answers 404 in production, and stays open in development only.
"""

from __future__ import annotations

import hmac
import os

import prometheus_client
from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import multiprocess

from apps.iot.metrics import IotCollector
from apps.notifications.metrics import OutboxCollector
from apps.operations.metrics import PlatformCollector


def _authorised(request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())


@never_cache
def metrics(request):
    if settings.METRICS_TOKEN:
        if not _authorised(request):
            response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not settings.METRICS_PUBLIC_WITHOUT_TOKEN:
        raise Http404("Not found.")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(OutboxCollector())
        registry.register(IotCollector())
        registry.register(PlatformCollector())
    else:
        registry = prometheus_client.REGISTRY
    return HttpResponse(prometheus_client.generate_latest(registry), content_type=prometheus_client.CONTENT_TYPE_LATEST)
