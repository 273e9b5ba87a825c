"""Admin for members and invitations: every change goes through the tenancy services
(`memberships.membership_*`, `accounts.member_*`), so the role rules and the audit log hold here too.

Invariant: nothing on these pages lists people who are not members of the viewer's tenants:
a person is added by name (username) or invited by email, never picked from a list of users,
and the site choices are the viewer's tenants' sites only.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.common.errors import ApplicationError
from apps.tenancy import accounts, memberships
from apps.tenancy.admin_base import ReadOnlyTenantScopedAdmin, TenantScopedAdmin
from apps.tenancy.admin_member_forms import InviteForm, MembershipAddForm, MembershipChangeForm, site_choice
from apps.tenancy.models import MANAGER_ROLES, ROLE_RANK, Invitation, Membership, Role, Site, Tenant


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    """Members, deactivated ones included; invite, change, deactivate, reset from here."""

    list_display = ("user", "tenant", "role", "all_sites", "is_active", "invitation_state", "created_at")
    list_filter = ("role", "all_sites", "is_active", "tenant")
    search_fields = ("user__username", "user__email")
    filter_horizontal = ("sites",)
    actions = ["deactivate_selected", "reactivate_selected", "send_password_reset", "reset_two_factor"]
    change_list_template = "admin/tenancy/membership/change_list.html"

    def get_queryset(self, request):
        """A site-scoped manager sees their own membership and the site-scoped ones that share a
        site with it (and may grant only the sites they cover: the service decides)."""
        queryset = Membership.everyone.select_related("user", "tenant")
        if request.user.is_superuser:
            return queryset
        scope = self._scope(request)
        sharing = Membership.sites.through.objects.filter(site_id__in=scope.site_ids).values("membership_id")
        queryset = queryset.filter(Q(tenant__in=scope.whole_tenant_ids) | Q(user=request.user)
                                   | Q(all_sites=False, pk__in=sharing))
        return queryset.filter(tenant__in=self._visible_tenant_ids(request))

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

    @admin.display(description="Invitation")
    def invitation_state(self, obj) -> str:
        if obj.user.has_usable_password():
            return "—"
        latest = obj.invitations.order_by("-created_at").first()
        return latest.state if latest else "no password yet"

    def get_readonly_fields(self, request, obj=None):
        return ("user", "tenant", "is_active", "deactivated_at", "public_id", "created_at") if obj is not None else ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = MembershipChangeForm if obj is not None else MembershipAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        if "role" in form.base_fields:  # not on a view-only page
            form.base_fields["role"].choices = self._grantable_roles(request)
        if obj is not None and "sites" in form.base_fields:
            form.base_fields["sites"].queryset = self._scope(request).filter(Site.objects.filter(tenant=obj.tenant))
        return form

    def get_fields(self, request, obj=None):
        if obj is not None:
            return ("user", "tenant", "role", "all_sites", "sites", "is_active", "deactivated_at", "public_id",
                    "created_at")
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
            memberships.membership_check(tenant=obj.tenant, user=obj.user, role=None, actor=request.user)
        except ApplicationError:
            return False
        return True

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with transaction.atomic():
            if change:
                membership = accounts.member_change(membership=obj, actor=request.user, role=data["role"],
                                                    all_sites=data["all_sites"], sites=list(data["sites"]))
            else:
                user = data["user"]
                if user is None:
                    user, _ = memberships.user_get_or_create(username=data["username"].strip(), email=data["email"],
                                                          password=data["password"] or None)
                # Role and sites in one grant: a site-scoped admin may not grant "all sites",
                # not even for the moment before the sites are set.
                membership = memberships.membership_set(tenant=obj.tenant, user=user, role=obj.role,
                                                     actor=request.user, **site_choice(data))
        obj.pk = membership.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        """The sites were saved by the service; the form must not save them again."""

    def delete_model(self, request, obj):
        memberships.membership_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("tenant", "user"):
            if self.has_delete_permission(request, membership):
                memberships.membership_remove(membership=membership, actor=request.user)

    def _each(self, request, queryset, service, done: str) -> None:
        count = 0
        for membership in queryset.select_related("tenant", "user"):
            try:
                service(membership=membership, actor=request.user)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{membership.user}: {exc.message}", messages.ERROR)
        if count:
            self.message_user(request, f"{done}: {count}.", messages.SUCCESS)

    @admin.action(description="Deactivate selected members (their tokens and sessions stop working at once)")
    def deactivate_selected(self, request, queryset):
        self._each(request, queryset, accounts.member_deactivate, "Deactivated")

    @admin.action(description="Reactivate selected members")
    def reactivate_selected(self, request, queryset):
        self._each(request, queryset, accounts.member_reactivate, "Reactivated")

    @admin.action(description="Email selected members a password-reset link (or a new invitation)")
    def send_password_reset(self, request, queryset):
        self._each(request, queryset, accounts.member_password_reset, "Emails sent")

    @admin.action(description="Remove selected members' authenticators (lost phone: they enrol a new one)")
    def reset_two_factor(self, request, queryset):
        self._each(request, queryset, accounts.member_two_factor_reset, "Authenticators removed")

    def get_urls(self):
        invite = self.admin_site.admin_view(self.invite_view)
        return [path("invite/", invite, name="tenancy_membership_invite"), *super().get_urls()]

    def invite_view(self, request):
        """*Members → Invite by email*: the person gets a set-password link."""
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:tenancy_membership_changelist"))
        form = InviteForm(request.POST or None, initial=self.get_changeform_initial_data(request))
        form.fields["tenant"].queryset = self._limit_choices(request, Tenant, Tenant.objects.all())
        form.fields["sites"].queryset = self._limit_choices(request, Site, Site.objects.all())
        form.fields["role"].choices = self._grantable_roles(request)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                outcome = accounts.member_invite(tenant=data["tenant"], email=data["email"], role=data["role"],
                                                 all_sites=data["all_sites"], sites=list(data["sites"]),
                                                 actor=request.user)
            except ApplicationError as exc:
                for field, errors in (exc.fields or {None: [exc.message]}).items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                told = "sent a link to choose a password" if outcome.invitation else "told they were added"
                self.message_user(request, f"{outcome.membership.user.email} is a member of "
                                           f"{outcome.membership.tenant} and was {told}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:tenancy_membership_changelist"))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": "Invite someone by email"}
        return TemplateResponse(request, "admin/tenancy/membership/invite.html", context)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyTenantScopedAdmin):
    """What was sent to whom and whether it was used; a new link is sent from *Memberships*."""

    list_display = ("email", "tenant", "state", "expires_at", "used_at", "invited_by", "created_at")
    list_filter = ("tenant",)
    search_fields = ("email",)
    exclude = ("token_hash",)
    actions = ["revoke_selected"]

    def has_module_permission(self, request):
        """Owners and admins only, as in the API: who was invited, and when, is theirs to see."""
        return request.user.is_superuser or (request.user.is_staff and bool(self._managed_tenant_ids(request)))

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(tenant__in=self._managed_tenant_ids(request))

    @admin.action(description="Revoke selected invitations (their links stop working)")
    def revoke_selected(self, request, queryset):
        for invitation in queryset.filter(used_at__isnull=True, revoked_at__isnull=True):
            if self._can_manage(request, invitation):
                accounts.invitation_revoke(invitation=invitation, actor=request.user)
        self.message_user(request, "Revoked.", messages.SUCCESS)
