"""How the tenant-scoped admin limits what it offers: choices, sidebar filters, people.

Invariant: nothing a non-superuser is offered (a foreign-key or many-to-many choice, a
sidebar filter's entries) names a row of a tenant they do not belong to, or, for a
site-scoped member, a row of a site they do not cover; people are offered through their
memberships. apps.tenancy.admin_base applies these to every TenantScopedAdmin.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q

from apps.tenancy.models import Tenant
from apps.tenancy.scoping import Scope, site_path_for


def has_tenant_field(model) -> bool:
    return any(field.name == "tenant" for field in model._meta.get_fields())


def tenant_scope(model, tenant_ids) -> Q | None:
    """The rows of `model` that belong to `tenant_ids`; None when `model` is not owned by
    tenants (the caller then limits it some other way)."""
    if model is Tenant:
        return Q(pk__in=tenant_ids)
    if has_tenant_field(model):
        return Q(tenant__in=tenant_ids)
    if model is get_user_model():  # people are seen through their memberships
        return Q(pk__in=get_user_model().objects.filter(memberships__tenant__in=tenant_ids,
                                                                 memberships__is_active=True).values("pk"))
    return None


class TenantScopedRelatedFilter(admin.RelatedFieldListFilter):
    """A sidebar filter on a relation that lists only what the viewer's tenants own, or,
    for a model no tenant owns, only the objects the viewer's own rows point to."""

    def field_choices(self, field, request, model_admin):
        if request.user.is_superuser:
            return super().field_choices(field, request, model_admin)
        scope = scope_q(field.related_model, model_admin._visible_tenant_ids(request), model_admin._scope(request))
        if scope is None:
            scope = Q(pk__in=model_admin.get_queryset(request).values(f"{self.field_path}__pk"))
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, limit_choices_to=scope, ordering=ordering)


def scope_q(model, tenant_ids, scope: Scope) -> Q | None:
    """The rows of `model` a person with `scope` (over `tenant_ids`) may be offered; None when
    no tenant owns `model`. People are offered by tenant to whole-tenant members, and to a
    site-scoped one only those who cover one of their sites."""
    if model is Tenant:
        return Q(pk__in=tenant_ids)
    if has_tenant_field(model):
        return scope.q(site_path=site_path_for(model), model=model)
    if model is get_user_model() and scope.is_site_restricted:
        return Q(pk__in=_people_covering(scope))
    return tenant_scope(model, tenant_ids)


def _people_covering(scope: Scope):
    """The people whose memberships cover a site of `scope` (or a tenant it sees whole)."""
    return scope.people_ids()


def last_field(model, path: str):
    try:
        return get_fields_from_path(model, path)[-1]
    except (FieldDoesNotExist, NotRelationField, IndexError):
        return None
