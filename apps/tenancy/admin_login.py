"""The admin's login form behind the same limits as the API's login.

Django's admin login has no rate limit of its own: posted credentials are counted per
client address (RATE_LIMIT_LOGIN, shared with the API login) and checked against the
per-account lockout before the form sees them, answering 429 or, while Redis is
unreachable, 503 (both with `Retry-After`) in the house error shape, as the API does.
The authentication backend enforces the lockout again for any path that skips this view.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import JsonResponse
from rest_framework.exceptions import Throttled

from apps.common.errors import error_body
from apps.common.throttling import LoginRateThrottle, RateLimitUnavailable
from apps.tenancy.login_guard import login_lockout_check


def _refusal(exc, code: str) -> JsonResponse:
    response = JsonResponse(error_body(code, str(exc.detail)), status=exc.status_code)
    response["Retry-After"] = str(int(exc.wait or 1))
    return response


def admin_login(request, extra_context=None):
    if request.method == "POST":
        try:
            throttle = LoginRateThrottle()
            if not throttle.allow_request(request, None):
                raise Throttled(wait=throttle.wait())
            username = request.POST.get("username")
            if username:
                login_lockout_check(username=username)
        except RateLimitUnavailable as exc:
            return _refusal(exc, "rate_limit_unavailable")
        except Throttled as exc:
            return _refusal(exc, "throttled")
    return admin.site.login(request, extra_context=extra_context)
