"""Admin for tenants, sites and memberships: every save and delete goes through the services,
which validate and audit it once."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from apps.common.errors import ApplicationError
from apps.tenancy import services
from apps.tenancy.admin_base import ArchivingDeleteMixin, TenantScopedAdmin
from apps.tenancy.models import MANAGER_ROLES, ROLE_RANK, LegalHold, Membership, RetentionPolicy, Role, Site, Tenant

User = get_user_model()


def _adopt(obj, saved) -> None:
    """The admin goes on with the form's instance (change message, redirect): make it the saved row."""
    obj.pk, obj._state.adding = saved.pk, False
    for field in ("public_id", "created_at"):
        if hasattr(saved, field):
            setattr(obj, field, getattr(saved, field))


def _form_changes(form, fields) -> dict:
    return {field: form.cleaned_data[field] for field in fields if field in form.changed_data}


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    """Superusers manage tenants; members see their own tenants read-only."""

    list_display = ("name", "slug", "vertical", "is_active", "public_id", "created_at")
    list_filter = ("vertical", "is_active")
    search_fields = ("name", "slug", "public_id")
    readonly_fields = ("public_id", "created_at")

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=self._visible_tenant_ids(request))

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False  # a tenant is erased by `manage.py tenant_erase`, which exports and tombstones it

    def save_model(self, request, obj, form, change):
        if change:
            services.tenant_update(tenant=obj, actor=request.user,
                                   **_form_changes(form, ("name", "slug", "vertical", "is_active")))
            return
        data = form.cleaned_data
        _adopt(obj, services.tenant_create(name=data["name"], slug=data["slug"], vertical=data["vertical"],
                                           actor=request.user))


SITE_FIELDS = ("name", "location_id", "kind", "timezone", "address", "business_hours", "outage_threshold",
               "outage_window_seconds", "latitude", "longitude")


@admin.register(Site)
class SiteAdmin(ArchivingDeleteMixin, TenantScopedAdmin):
    """Deleting a site deprovisions it: devices and setup tokens revoked, the site archived
    while anything recorded points at it."""

    list_display = ("name", "location_id", "kind", "tenant", "timezone", "archived_at", "public_id")
    list_filter = ("kind", "tenant")
    search_fields = ("name", "location_id", "public_id")
    readonly_fields = ("public_id", "created_at", "archived_at")

    def save_model(self, request, obj, form, change):
        if change:
            services.site_update(site=Site.objects.get(pk=obj.pk), actor=request.user,
                                 **_form_changes(form, SITE_FIELDS))
            return
        data = form.cleaned_data
        _adopt(obj, services.site_create(tenant=data["tenant"], actor=request.user,
                                         **{field: data[field] for field in SITE_FIELDS if field in data}))

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "tenant") if obj is not None else self.readonly_fields

    def delete_model(self, request, obj):
        services.site_delete(site=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for site in queryset:
            try:
                outcome = services.site_delete(site=site, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{site}: {exc.message}", messages.ERROR)
                continue
            if outcome == "archived":
                self.message_user(request, f"{site}: archived (it has history); its devices and setup tokens "
                                           "are revoked.", messages.WARNING)


class MembershipAddForm(forms.ModelForm):
    """The person is named, not picked: a list of users would show every user of the
    platform. An existing username is added as it is; a new one is created (without a
    password unless one is given here)."""

    username = forms.CharField(max_length=150, help_text="The person's username; a new user is created if "
                                                         "none has it.")
    email = forms.EmailField(required=False, help_text="For a new user only.")
    password = forms.CharField(required=False, widget=forms.PasswordInput, strip=False,
                               help_text="For a new user only; leave empty to set it later.")

    actor = None  # the person using the form, set by MembershipAdmin.get_form

    class Meta:
        model = Membership
        fields = ("tenant", "role", "all_sites", "sites")

    def clean(self):
        cleaned = super().clean()
        username = (cleaned.get("username") or "").strip()
        cleaned["user"] = User.objects.filter(username=username).first() if username else None
        if cleaned["user"] is None and username:
            try:
                User._meta.get_field("username").run_validators(username)
            except ValidationError as exc:
                self.add_error("username", exc)
        if cleaned["user"] is None and cleaned.get("password"):
            try:
                password_validation.validate_password(cleaned["password"], User(username=username))
            except ValidationError as exc:
                self.add_error("password", exc)
        if cleaned.get("tenant") and cleaned.get("role"):
            _check(self, tenant=cleaned["tenant"], user=cleaned["user"] or User(pk=None), role=cleaned["role"])
        return cleaned


class MembershipChangeForm(forms.ModelForm):
    actor = None

    class Meta:
        model = Membership
        fields = ("role", "all_sites", "sites")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role"):
            _check(self, tenant=self.instance.tenant, user=self.instance.user, role=cleaned["role"])
        return cleaned


def _check(form, *, tenant, user, role) -> None:
    cleaned = form.cleaned_data
    try:
        services.membership_check(tenant=tenant, user=user, role=role, actor=form.actor, **_site_choice(cleaned))
    except ApplicationError as exc:
        field = next((name for name in ("role", "sites") if exc.fields and name in exc.fields), None)
        form.add_error(field if field in form.fields else None, exc.message)


def _site_choice(cleaned) -> dict:
    """The form's all-sites box and site list, as the membership service takes them."""
    if "all_sites" not in cleaned:  # a view-only page, or the fields left out
        return {}
    all_sites = bool(cleaned["all_sites"])
    return {"all_sites": all_sites, "sites": None if all_sites else list(cleaned.get("sites") or [])}


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    """Through the tenancy services, so the role and site rules and the audit log hold here
    too. A site-scoped manager sees their own membership and the site-scoped ones that share
    a site with it, and may grant only the sites they cover."""

    list_display = ("user", "tenant", "role", "all_sites", "created_at")
    list_filter = ("role", "all_sites", "tenant")
    search_fields = ("user__username", "user__email")
    filter_horizontal = ("sites",)

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        scope = self._scope(request)
        sharing = Membership.sites.through.objects.filter(site_id__in=scope.site_ids).values("membership_id")
        return queryset.filter(tenant__in=self._visible_tenant_ids(request)).filter(
            Q(tenant__in=scope.whole_tenant_ids) | Q(user=request.user) | Q(all_sites=False, pk__in=sharing))

    def _limit_choices(self, request, model, queryset):
        if model is Tenant and not request.user.is_superuser:  # site-scoped managers add members too
            return queryset.filter(pk__in=self._managed_tenant_ids(request))
        return super()._limit_choices(request, model, queryset)

    def _may_add_here(self, request) -> bool:
        return True

    def has_module_permission(self, request):
        """Site-scoped managers manage their sites' members here too."""
        return request.user.is_superuser or (request.user.is_staff and bool(self._visible_tenant_ids(request)))

    def _can_manage(self, request, obj) -> bool:
        """Any manager of the tenant; the membership service then holds them to their sites."""
        if obj is None or request.user.is_superuser or not request.user.is_staff:
            return super()._can_manage(request, obj)
        return obj.tenant_id in self._managed_tenant_ids(request)

    def save_related(self, request, form, formsets, change):
        """The sites were set by the membership service with the rest."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def get_readonly_fields(self, request, obj=None):
        return ("user", "tenant", "public_id", "created_at") if obj is not None else ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = MembershipChangeForm if obj is not None else MembershipAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        if "role" in form.base_fields:  # not on a view-only page
            form.base_fields["role"].choices = self._grantable_roles(request)
        return form

    def get_fields(self, request, obj=None):
        if obj is not None:
            return ("user", "tenant", "role", "all_sites", "sites", "public_id", "created_at")
        return ("tenant", "username", "email", "password", "role", "all_sites", "sites")

    def _grantable_roles(self, request) -> list[tuple[str, str]]:
        """No role above the highest this person holds where they manage members."""
        if request.user.is_superuser:
            return list(Role.choices)
        held = Membership.objects.filter(user=request.user, role__in=MANAGER_ROLES).values_list("role", flat=True)
        top = max((ROLE_RANK[role] for role in held), default=0)
        return [(value, label) for value, label in Role.choices if ROLE_RANK[value] <= top]

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None or request.user.is_superuser:
            return True
        try:
            services.membership_check(tenant=obj.tenant, user=obj.user, role=None, actor=request.user)
        except ApplicationError:
            return False
        return True

    def save_model(self, request, obj, form, change):
        user = obj.user if change else form.cleaned_data["user"]
        with transaction.atomic():
            if user is None:
                user, _ = services.user_get_or_create(username=form.cleaned_data["username"].strip(),
                                                      email=form.cleaned_data["email"],
                                                      password=form.cleaned_data["password"] or None)
            membership = services.membership_set(tenant=obj.tenant, user=user, role=obj.role, actor=request.user,
                                                 **_site_choice(form.cleaned_data))
        obj.pk = membership.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.membership_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("tenant", "user"):
            if self.has_delete_permission(request, membership):
                services.membership_remove(membership=membership, actor=request.user)


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(TenantScopedAdmin):
    """A tenant's own period for a table; deleting it returns to the platform default."""

    list_display = ("tenant", "table", "days", "updated_at")
    list_filter = ("table", "tenant")
    readonly_fields = ("public_id", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "tenant", "table") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        _adopt(obj, services.retention_policy_set(tenant=obj.tenant, table=obj.table, days=form.cleaned_data["days"],
                                                  actor=request.user))

    def delete_model(self, request, obj):
        services.retention_policy_delete(policy=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for policy in queryset:
            services.retention_policy_delete(policy=policy, actor=request.user)


class LegalHoldForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ("tenant", "site", "reason")

    def clean(self):
        cleaned = super().clean()
        site, tenant = cleaned.get("site"), cleaned.get("tenant")
        if site is not None and tenant is not None and site.tenant_id != tenant.pk:
            self.add_error("site", "That site belongs to another tenant.")
        return cleaned


@admin.register(LegalHold)
class LegalHoldAdmin(TenantScopedAdmin):
    """Placed and released, never edited or deleted: the record of a hold is itself evidence."""

    form = LegalHoldForm
    list_display = ("tenant", "site", "reason", "placed_by", "created_at", "released_at")
    list_filter = ("tenant",)
    readonly_fields = ("public_id", "placed_by", "created_at", "released_at")
    actions = ["release_selected"]

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        _adopt(obj, services.legal_hold_place(tenant=data["tenant"], site=data.get("site"), reason=data["reason"],
                                              actor=request.user))

    @admin.action(description="Release selected holds")
    def release_selected(self, request, queryset):
        for hold in queryset.filter(released_at__isnull=True):
            if self._can_manage(request, hold):
                services.legal_hold_release(hold=hold, actor=request.user)
        self.message_user(request, "Released.", messages.SUCCESS)
