"""The admin's gateway provisioning page and its one-time key download.

Invariant: the page runs the same service as the API and `manage.py provision_gateway`
(`gateway_provision`, all or nothing, audited there), only for plants of tenants the person
manages (owner or admin; staff and viewers are refused); a server-made private key leaves
the server once, by POST, and is erased in the same transaction (`gateway_key_download`).
Nothing secret is put in a GET response or a URL.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.iot import broker, provisioning
from apps.iot.models import Gateway
from apps.tenancy.models import Site, SiteKind

MAX_CSR_CHARS = 8000


class GatewayProvisionForm(forms.Form):
    plant = forms.ModelChoiceField(queryset=Site.objects.filter(kind=SiteKind.PLANT, archived_at__isnull=True))
    hardware_id = forms.RegexField(r"^[A-Za-z0-9._:-]{1,100}$", max_length=100,
                                   help_text="The gateway's serial number or MAC address.")
    name = forms.CharField(max_length=100, required=False)
    model = forms.CharField(max_length=100, required=False)
    csr = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "cols": 70}), required=False, max_length=MAX_CSR_CHARS,
        label="Certificate signing request (PEM)",
        help_text="Made on the gateway, so its private key never leaves it. Leave empty only for hardware that "
                  "cannot make one: the server then makes a key pair, downloadable once.")


def _plant_error_field(exc: ApplicationError) -> str | None:
    fields = set(exc.fields or {})
    if "csr" in fields:
        return "csr"
    if "hardware_id" in fields:
        return "hardware_id"
    return "plant" if "site" in fields else None


class GatewayProvisioningMixin:
    """Mixed into GatewayAdmin: `add_view` is the provisioning page; `<pk>/key/` the key download."""

    def has_add_permission(self, request):
        return self._can_manage(request, None)

    def provision_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = GatewayProvisionForm(request.POST or None)
        form.fields["plant"].queryset = self._limit_choices(request, Site, form.fields["plant"].queryset)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = provisioning.gateway_provision(
                    site=data["plant"], actor=Actor.for_user(request.user), hardware_id=data["hardware_id"],
                    name=data["name"], model=data["model"], csr_pem=data["csr"].strip())
            except ApplicationError as exc:
                form.add_error(_plant_error_field(exc), exc.message)
            else:
                return self._provisioned(request, result)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": "Provision a plant gateway", "mqtt_enabled": broker.mqtt_enabled()}
        return TemplateResponse(request, "admin/iot/gateway_provision.html", context)

    def _provisioned(self, request, result: provisioning.ProvisionResult) -> TemplateResponse:
        gateway = result.gateway
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "result": result,
                   "gateway": gateway, "title": f"Gateway {gateway.identity} provisioned",
                   "data_topic": broker.data_topic(gateway.site.public_id),
                   "commands_topic": f"solar/{gateway.site.public_id}/commands/#",
                   "key_url": reverse("admin:iot_gateway_key", args=[gateway.pk]),
                   "back_url": reverse("admin:iot_gateway_changelist")}
        response = TemplateResponse(request, "admin/iot/gateway_provisioned.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def key_view(self, request, object_id: str):
        """GET: what will happen; POST: the key, once, as a file."""
        gateway = self.get_queryset(request).filter(pk=object_id).select_related("device", "tenant").first() \
            if str(object_id).isdigit() else None
        if gateway is None:
            raise Http404("No such gateway.")
        if not self._can_manage(request, gateway):
            raise PermissionDenied
        change_url = reverse("admin:iot_gateway_change", args=[gateway.pk])
        if request.method != "POST":
            context = {**self.admin_site.each_context(request), "opts": self.model._meta, "gateway": gateway,
                       "title": f"Private key of {gateway.identity}", "back_url": change_url,
                       "available": bool(gateway.key_encrypted)}
            return TemplateResponse(request, "admin/iot/gateway_key.html", context)
        try:
            key = provisioning.gateway_key_download(gateway=gateway, actor=Actor.for_user(request.user))
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(change_url)
        response = HttpResponse(key, content_type="application/x-pem-file")
        response["Content-Disposition"] = f'attachment; filename="{gateway.identity}.key.pem"'
        response["Cache-Control"] = "no-store"
        return response


def key_link(gateway: Gateway) -> str:
    return reverse("admin:iot_gateway_key", args=[gateway.pk])
