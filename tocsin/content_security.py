"""Content-Security-Policy (django-csp) with the stream's origin in `connect-src`.

The policy itself is `CONTENT_SECURITY_POLICY` in settings. The live board opens an
EventSource on `TOCSIN_STREAM_PUBLIC_URL`, which is another origin in development (and in
the browser tests, a port chosen per run); it is read per response rather than frozen at
import, so the board can always reach the stream and nothing else.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class StreamAwareCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        stream_origin = origin_of(settings.TOCSIN_STREAM_PUBLIC_URL)
        if stream_origin:
            update = dict(parts.update or {})
            update["connect-src"] = [*update.get("connect-src", []), stream_origin]
            parts.update = update
        return parts
