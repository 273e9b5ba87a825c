"""The forms of the members' admin: add a member by name, change one, invite by email.

Invariant: a form shows the membership service's refusal beside the field it concerns
before anything is saved (`memberships.membership_check`, asked again by the write), and a
person is named (username, email), never picked from a list of the platform's users.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError

from apps.common.errors import ApplicationError
from apps.tenancy import memberships
from apps.tenancy.admin_forms import service_error_place
from apps.tenancy.models import Membership, Role, Site, Tenant

User = get_user_model()


def _check_sites(form, tenant) -> None:
    cleaned = form.cleaned_data
    sites = list(cleaned.get("sites") or [])
    if tenant is not None and any(site.tenant_id != tenant.pk for site in sites):
        form.add_error("sites", "Choose sites of this member's tenant.")
    if not cleaned.get("all_sites") and not sites:
        form.add_error("sites", "Choose at least one site, or tick “All sites”.")


class MembershipAddForm(forms.ModelForm):
    """The person is named, not picked: a list of users would show every user of the
    platform. An existing username is added as it is; a new one is created (without a
    password unless one is given here). To send a set-password link, use *Invite by email*."""

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
        if cleaned["user"] is not None and cleaned.get("tenant") and Membership.everyone.filter(
                tenant=cleaned["tenant"], user=cleaned["user"], is_active=False).exists():
            self.add_error("username", "This person's membership is deactivated: reactivate it from the list.")
        if cleaned.get("tenant") and cleaned.get("role"):
            _check(self, tenant=cleaned["tenant"], user=cleaned["user"] or User(pk=None), role=cleaned["role"])
        _check_sites(self, cleaned.get("tenant"))
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
        _check_sites(self, self.instance.tenant)
        return cleaned


class InviteForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.all())
    email = forms.EmailField(max_length=150, help_text="They get a link to choose their password (it works once "
                                                       "and expires); someone with an account is told they were added.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.STAFF)
    all_sites = forms.BooleanField(required=False, initial=True, label="All sites",
                                   help_text="Every site of the tenant, present and future. Untick to choose sites.")
    sites = forms.ModelMultipleChoiceField(queryset=Site.objects.all(), required=False,
                                           widget=forms.CheckboxSelectMultiple)

    def clean(self):
        cleaned = super().clean()
        _check_sites(self, cleaned.get("tenant"))
        return cleaned


def _check(form, *, tenant, user, role) -> None:
    """The service's role and site rules, shown beside the field they concern."""
    try:
        memberships.membership_check(tenant=tenant, user=user, role=role, actor=form.actor,
                                     **site_choice(form.cleaned_data))
    except ApplicationError as exc:
        service_error_place(form, exc)


def site_choice(cleaned) -> dict:
    """The form's all-sites box and site list, as the membership service takes them."""
    if "all_sites" not in cleaned:  # a view-only page, or the fields left out
        return {}
    all_sites = bool(cleaned["all_sites"])
    return {"all_sites": all_sites, "sites": None if all_sites else list(cleaned.get("sites") or [])}
