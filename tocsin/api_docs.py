"""The OpenAPI schema and its Swagger UI, public only when TOCSIN_API_DOCS_PUBLIC is on.

Both describe every route and field of the API, which helps an attacker as much as an
integrator, so without DEBUG they need a login: the schema through the API's own
authentication (session, JWT or API key; 401 otherwise), the docs page through the admin
login (a browser is redirected there). The docs page renders drf-spectacular's template
with the CSP nonce on its inline script (templates/drf_spectacular/swagger_ui.html).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import BasePermission


class DocsAccess(BasePermission):
    def has_permission(self, request, view) -> bool:
        return settings.TOCSIN_API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


schema_view = SpectacularAPIView.as_view(permission_classes=[DocsAccess])
_swagger_view = SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[DocsAccess])


def docs_view(request, *args, **kwargs):
    if not settings.TOCSIN_API_DOCS_PUBLIC and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    return _swagger_view(request, *args, **kwargs)
