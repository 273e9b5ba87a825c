"""The live board: a Django page for staff, kept current by the event stream."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_GET

from apps.common.errors import NotFoundError
from apps.realtime import selectors, services
from apps.tenancy.context import TenantChoiceRequired, resolve_tenant_context
from apps.tenancy.models import OPERATOR_ROLES


@require_GET
@login_required(login_url=reverse_lazy("admin:login"))
def board(request):
    """People with several tenants (and superusers) pick one with `?tenant=`. A page's link
    (`?alert=<id>`) opens that alert's tenant and shows the alert highlighted, in whatever
    state it is now."""
    requested = request.GET.get("tenant", "")[:80]
    focus_id = request.GET.get("alert", "")[:40]
    if focus_id and not requested:
        requested = selectors.tenant_of_alert(user=request.user, public_id=focus_id) or ""
    try:
        context = resolve_tenant_context(user=request.user, requested=requested or None)
    except TenantChoiceRequired:
        return render(request, "realtime/choose_tenant.html",
                      {"tenants": selectors.tenants_to_choose(request.user)})
    except NotFoundError as exc:
        raise Http404("No such tenant.") from exc
    # The resume point is read before the snapshot: see services.stream_tail.
    resume_from = services.stream_tail(tenant=context.tenant)
    snapshot = selectors.board_snapshot(tenant=context.tenant, scope=context.scope, focus=focus_id or None)
    config = {
        "tenant": context.tenant.public_id,
        "resumeFrom": resume_from or "",
        "canAct": context.has_role(OPERATOR_ROLES),
        "csrfToken": get_token(request),
        "ticketUrl": reverse("stream-ticket"),
        "alertsUrl": reverse("alert-list"),
        "commandsUrl": reverse("command-list"),
        "devicePageUrl": reverse("device-page", args=["__id__"]),
        "loginUrl": f"{reverse('admin:login')}?{urlencode({'next': request.get_full_path()})}",
    }
    return render(request, "realtime/board.html", {"tenant": context.tenant, "snapshot": snapshot,
                                                    "config": config, "role": context.role})
