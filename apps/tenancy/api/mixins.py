"""The DRF half of tenant isolation: every tenant-scoped view inherits this."""

from __future__ import annotations

from rest_framework import exceptions

from apps.tenancy.context import INTEGRATION_ROLE, TENANT_HEADER, TenantContext, resolve_tenant_context
from apps.tenancy.models import ALL_ROLES, MANAGER_ROLES


class TenantScopedViewMixin:
    """Resolves the caller's tenant, role and scope, checks the role, and scopes querysets.

    `read_roles` / `write_roles` cover safe and unsafe methods; `action_roles` overrides
    them per viewset action. Objects are looked up only inside the caller's tenant and
    scope (apps.tenancy.scoping), so a foreign tenant's id, or a site-scoped member's
    foreign site's id, answers 404 like one that never existed. `whole_tenant_only` views
    (tenant-wide configuration and history) refuse site-scoped members outright, the same
    403 for any id.
    """

    read_roles = ALL_ROLES
    write_roles = MANAGER_ROLES
    action_roles: dict[str, frozenset] = {}
    # Integrations (API keys) act for their own tenant only, within their scopes: reads
    # need `read`; a view opts in to writes by naming the scope they need. Each scope
    # stands for a role (the principal's `role_for_scope`), and the view's role rules then
    # apply as to a person with that role: a `read` key reads what a viewer reads.
    api_key_read_scope: str | None = "read"
    api_key_write_scope: str | None = None
    lookup_field = "public_id"
    # How this view's rows name their site for scoping: "auto" asks the model
    # (apps.tenancy.scoping.site_path_for); None treats them as tenant-wide.
    site_field: str | None = "auto"
    whole_tenant_only = False

    tenant_context: TenantContext

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        principal = request.user
        if getattr(principal, "is_tenant_principal", False):
            self.tenant_context = TenantContext(tenant=principal.tenant, role=INTEGRATION_ROLE)
            request.tenant_context = self.tenant_context
            if not self._api_key_may(principal, request):
                raise exceptions.PermissionDenied()
            return
        self.tenant_context = resolve_tenant_context(
            user=principal, requested=request.headers.get(TENANT_HEADER)
        )
        request.tenant_context = self.tenant_context
        if not self.tenant_context.has_role(self.roles_for_request(request)):
            raise exceptions.PermissionDenied()
        if self.whole_tenant_only and not self.scope.covers_tenant(self.tenant.pk):
            raise exceptions.PermissionDenied("This needs a membership for every site of the tenant.")

    def _api_key_may(self, principal, request) -> bool:
        safe = request.method in ("GET", "HEAD", "OPTIONS")
        scope = self.api_key_read_scope if safe else self.api_key_write_scope
        if scope is None:
            return False
        role = principal.role_for_scope(scope)
        return role is not None and role in self.roles_for_request(request)

    def roles_for_request(self, request) -> frozenset:
        action = getattr(self, "action", None)
        if action in self.action_roles:
            return self.action_roles[action]
        return self.read_roles if request.method in ("GET", "HEAD", "OPTIONS") else self.write_roles

    @property
    def tenant(self):
        return self.tenant_context.tenant

    @property
    def scope(self):
        return self.tenant_context.scope

    def get_queryset(self):
        return self.scope.filter(super().get_queryset().filter(tenant=self.tenant), site_field=self.site_field)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if hasattr(self, "tenant_context"):
            context["tenant"] = self.tenant
            context["scope"] = self.scope
        return context
