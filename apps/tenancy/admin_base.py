"""The admin half of tenant isolation: every tenant-owned ModelAdmin inherits this.

Superusers see everything. Other staff users see only rows of tenants they belong to,
may change them only where their role is owner or admin, and nothing on a page lists
another tenant's objects: every foreign-key or many-to-many choice offered to them is
limited to the tenants they manage, and every filter in the sidebar of a changelist to
the tenants they see (the tenant filter itself only for people of several tenants). Both
happen here, so a ModelAdmin that declares `list_filter = ("site", "tenant")` is scoped
without knowing it.

Inside a tenant, a site-scoped membership narrows all of it to its sites
(apps.tenancy.scoping): changelists, sidebar filters and form choices list only rows of
those sites, a row of another site answers 404, and rows with no site (tenant-wide
configuration) are neither shown nor added by such a member.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from apps.common.forms import BoundedJSONFormField
from apps.tenancy.admin_scoping import TenantScopedRelatedFilter, has_tenant_field, last_field, scope_q
from apps.tenancy.context import tenant_ids_for_user, tenant_ids_where_role
from apps.tenancy.models import MANAGER_ROLES, Site, Tenant
from apps.tenancy.scoping import Scope, scope_for_user, site_path_for


class TenantScopedAdmin(admin.ModelAdmin):
    tenant_field = "tenant"
    # How rows name their site ("auto": apps.tenancy.scoping.site_path_for; None: tenant-wide).
    site_field: str | None = "auto"
    # JSON typed into the admin is held to the API's limits (depth, NUL, numbers).
    formfield_overrides = {models.JSONField: {"form_class": BoundedJSONFormField}}

    def _visible_tenant_ids(self, request) -> list[int]:
        cache_name = "_tocsin_visible_tenant_ids"
        if not hasattr(request, cache_name):
            setattr(request, cache_name, tenant_ids_for_user(request.user))
        return getattr(request, cache_name)

    def _managed_tenant_ids(self, request) -> list[int]:
        cache_name = "_tocsin_managed_tenant_ids"
        if not hasattr(request, cache_name):
            setattr(request, cache_name, tenant_ids_where_role(request.user, MANAGER_ROLES))
        return getattr(request, cache_name)

    def _scope(self, request) -> Scope:
        """Everything this person sees, across their tenants (cached on the request)."""
        if not hasattr(request, "_tocsin_scope"):
            request._tocsin_scope = scope_for_user(request.user)
        return request._tocsin_scope

    def _managed_scope(self, request) -> Scope:
        """What this person manages: their owner/admin memberships' tenants and sites."""
        if not hasattr(request, "_tocsin_managed_scope"):
            request._tocsin_managed_scope = scope_for_user(request.user, roles=MANAGER_ROLES)
        return request._tocsin_managed_scope

    def _site_path(self) -> str | None:
        return site_path_for(self.model) if self.site_field == "auto" else self.site_field

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        queryset = queryset.filter(**{f"{self.tenant_field}__in": self._visible_tenant_ids(request)})
        return queryset.filter(self._scope(request).q(site_path=self._site_path(), tenant_path=self.tenant_field,
                                                      model=self.model))

    def _sees_several_tenants(self, request) -> bool:
        return request.user.is_superuser or len(self._visible_tenant_ids(request)) > 1

    def get_list_filter(self, request):
        """The declared filters, with every relation filter scoped to the viewer's tenants
        and the tenant filter left out for people who see one tenant only."""
        scoped = []
        for entry in super().get_list_filter(request):
            path, filter_class = entry if isinstance(entry, (tuple, list)) else (entry, None)
            field = last_field(self.model, path) if isinstance(path, str) else None
            if field is None or not field.is_relation:
                scoped.append(entry)
                continue
            if field.related_model is Tenant and not self._sees_several_tenants(request):
                continue
            if filter_class is None or issubclass(filter_class, admin.RelatedFieldListFilter):
                entry = (path, TenantScopedRelatedFilter)
            scoped.append(entry)
        return scoped

    def _limit_choices(self, request, model, queryset):
        if request.user.is_superuser or queryset is None:
            return queryset
        managed_scope = self._managed_scope(request)
        if model is Tenant and (self._site_path() is None or self.model is Site):
            # Tenant-wide rows and new sites: only in tenants managed whole.
            return queryset.filter(pk__in=managed_scope.whole_tenant_ids)
        scope = scope_q(model, self._managed_tenant_ids(request), managed_scope)
        return queryset if scope is None else queryset.filter(scope)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = self._limit_choices(request, db_field.related_model, formfield.queryset)
        return formfield

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = self._limit_choices(request, db_field.related_model, formfield.queryset)
        return formfield

    def get_form(self, request, obj=None, change=False, **kwargs):
        """An empty site (or no sites, for a roster) means the whole tenant (a hold, a
        schedule): only whole-tenant managers may leave it empty."""
        form = super().get_form(request, obj, change=change, **kwargs)
        site_path = self._site_path()
        if request.user.is_superuser or site_path not in ("site", "sites") or site_path not in form.base_fields:
            return form
        scope = self._managed_scope(request)

        class SiteOfTheirOwn(form):
            def clean(inner):
                cleaned = super().clean()
                tenant = cleaned.get("tenant")
                tenant_id = tenant.pk if tenant is not None else inner.instance.tenant_id
                if (site_path in inner.fields and not cleaned.get(site_path) and tenant_id is not None
                        and not scope.covers_tenant(tenant_id)):
                    inner.add_error(site_path, "Choose one of your sites: the whole tenant needs a membership "
                                               "for every site.")
                return cleaned

        SiteOfTheirOwn.__name__ = form.__name__
        return SiteOfTheirOwn

    def get_changeform_initial_data(self, request):
        """A member of one tenant adds rows to that tenant: preselect it."""
        initial = super().get_changeform_initial_data(request)
        if "tenant" not in initial and has_tenant_field(self.model) and not request.user.is_superuser:
            managed = self._managed_tenant_ids(request)
            if len(managed) == 1:
                initial["tenant"] = managed[0]
        return initial

    def _object_tenant_id(self, obj):
        return getattr(obj, f"{self.tenant_field}_id", None) if "__" not in self.tenant_field else None

    def has_module_permission(self, request):
        if request.user.is_superuser:
            return True
        if not (request.user.is_staff and self._visible_tenant_ids(request)):
            return False
        # Tenant-wide rows (channels, policies, keys, the audit log) are for whole-tenant members.
        return self._site_path() is not None or self.model is Tenant or bool(self._scope(request).whole_tenant_ids)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def _can_manage(self, request, obj) -> bool:
        if request.user.is_superuser:
            return True
        if not request.user.is_staff:
            return False
        managed = self._managed_tenant_ids(request)
        if obj is None:
            return bool(managed) and self._may_add_here(request)
        if self._object_tenant_id(obj) not in managed:
            return False
        scope = self._managed_scope(request)
        if obj.pk is None or scope.covers_tenant(self._object_tenant_id(obj)):
            return True
        site_path = self._site_path()
        return site_path is not None and scope.filter(
            type(obj)._default_manager.filter(pk=obj.pk), site_field=site_path).exists()

    def _may_add_here(self, request) -> bool:
        """Site-scoped managers add only rows of their sites: not sites themselves (a new
        site is outside their scope) and not tenant-wide rows."""
        scope = self._managed_scope(request)
        if scope.whole_tenant_ids:
            return True
        site_path = self._site_path()
        return site_path is not None and self.model is not Site

    def has_add_permission(self, request):
        return self._can_manage(request, None)

    def has_change_permission(self, request, obj=None):
        return self._can_manage(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._can_manage(request, obj)


class ReadOnlyTenantScopedAdmin(TenantScopedAdmin):
    """For append-only records (audit entries, scans, timelines): visible, never edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TenantScopedInline:
    """Mixin for inlines of a TenantScopedAdmin: the parent's role rules decide (tenant admins
    hold no Django model permissions), and choices are limited as the parent limits them."""

    def _parent_admin(self) -> TenantScopedAdmin:
        return self.admin_site._registry[self.parent_model]

    def has_view_permission(self, request, obj=None):
        return self._parent_admin().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return self._parent_admin().has_change_permission(request, obj) if obj else (
            self._parent_admin().has_add_permission(request))

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = self._parent_admin()._limit_choices(request, db_field.related_model,
                                                                      formfield.queryset)
        return formfield

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = self._parent_admin()._limit_choices(request, db_field.related_model,
                                                                      formfield.queryset)
        return formfield


class ArchivingDeleteMixin:
    """For admins whose delete is a service that archives a row with history rather than
    deleting it: Django's cascade preview (and its refusal over protected or read-only
    related rows) does not apply, since nothing related is deleted."""

    def get_deleted_objects(self, objs, request):
        return [str(obj) for obj in objs], {}, set(), []
