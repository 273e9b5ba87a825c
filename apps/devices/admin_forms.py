"""The device admin's forms: the device (its place and allowed access points edited as
text, not raw JSON) and the CSV import of many devices' places.

Invariant: what these forms accept is what `apps.devices.locations` accepts, checked
field by field so each refusal shows beside its field; the services check it again.
"""

from __future__ import annotations

from django import forms

from apps.common.errors import ApplicationError
from apps.devices import shadows
from apps.devices.locations import bssid_problems, label_problem, split_bssids
from apps.devices.models import Device
from apps.devices.room_import import MAX_BYTES
from apps.tenancy.models import Site

BSSIDS_KEY = "allowed_bssids"


class DeviceForm(forms.ModelForm):
    allowed_bssids = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 24}), label="Allowed BSSIDs",
        help_text="The Wi-Fi access points this device may use, one MAC address per line (aa:bb:cc:dd:ee:ff). "
                  "Connected to any other, it raises a breach alert. Empty: any access point.")

    class Meta:
        model = Device
        fields = ("name", "location_label", "site", "allowed_bssids", "desired_state")
        help_texts = {"desired_state": "Other settings sent to the device (JSON). Allowed BSSIDs are edited above."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        state = dict(self.instance.desired_state or {}) if self.instance.pk else {}
        self.initial["allowed_bssids"] = "\n".join(state.pop(BSSIDS_KEY, []))
        self.initial["desired_state"] = state

    def clean_location_label(self):
        label = " ".join((self.cleaned_data.get("location_label") or "").split())
        problem = label_problem(label)
        if problem:
            raise forms.ValidationError(problem)
        return label

    def clean_allowed_bssids(self):
        values = split_bssids(self.cleaned_data.get("allowed_bssids") or "")
        problems = bssid_problems(values)
        if problems:
            raise forms.ValidationError(problems)
        return list(dict.fromkeys(value.lower() for value in values))

    def clean_desired_state(self):
        state = self.cleaned_data.get("desired_state")
        if state is None:
            return {}
        if not isinstance(state, dict):
            raise forms.ValidationError("Expected a JSON object.")
        if BSSIDS_KEY in state:
            raise forms.ValidationError("Edit the allowed BSSIDs in their own field above.")
        try:  # the shadow's own checks (types of the config keys, 8 KiB), as form errors
            shadows.validate_patch(state, side="desired")
            shadows.check_size(state, "desired")
        except ApplicationError as exc:
            problems = [f"{field}: {' '.join(messages)}" for field, messages in (exc.fields or {}).items()]
            raise forms.ValidationError(problems or [exc.message]) from exc
        return state

    def clean_site(self):
        site = self.cleaned_data["site"]
        if site.tenant_id != self.instance.tenant_id:
            raise forms.ValidationError("A device can only move to a site of its own tenant.")
        if site.archived_at is not None and site.pk != self.instance.site_id:
            raise forms.ValidationError("That site is archived (deprovisioned).")
        return site


class RoomImportForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.all(), required=False,
                                  help_text="Only devices of this site (optional).")
    file = forms.FileField(help_text=f"CSV, at most {MAX_BYTES // 1024} KiB: label, hardware_id, allowed_bssids "
                                     "per line (BSSIDs separated by spaces or ';'; an empty cell keeps the list). "
                                     "A first line naming the columns is skipped.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_BYTES // 1024} KiB; split it.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text; save it as CSV UTF-8.") from None
