"""Admin forms whose save is a service call, and the admins that adopt what the service saved.

Invariant: a `ServiceForm` never saves itself. After the model's own checks (`_post_clean`),
and only if every check passed, it calls `save_through_service(cleaned)`, which returns the
saved row (kept as `form.saved`) or None after adding errors of its own. An ApplicationError
from the service is shown beside the fields it names, or on the form when it names none of
the form's. So the service validates, writes and audits once, as for the API, and its
refusals read like any other form error instead of a 500 from `save_model`.

`ServiceSaved` is the admin half: it hands the form the request and itself, adopts
`form.saved` instead of saving, and deletes row by row through `delete_model` (each delete
is a service call, checked and audited).
"""

from __future__ import annotations

from django import forms

from apps.common.errors import ApplicationError


def service_error_place(form: forms.BaseForm, exc: ApplicationError) -> None:
    """The error's message beside each of the form's fields it names, else on the form."""
    placed = [name for name in (exc.fields or {}) if name in form.fields]
    for name in placed:
        form.add_error(name, exc.message)
    if not placed:
        form.add_error(None, exc.message)


class ServiceForm(forms.ModelForm):
    """A ModelForm saved by `save_through_service`, inside validation (see the module)."""

    saved = None
    request = None  # set by ServiceSaved.get_form, with the admin that made the form
    model_admin = None

    def __init_subclass__(cls, **kwargs):
        """Every ServiceForm names its service: a form without one fails when it is defined
        (at import), never when somebody submits it."""
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "save_through_service", None)):
            raise TypeError(f"{cls.__name__} must define save_through_service(cleaned): save through the "
                            "service and answer the row, or add errors and answer None.")

    def _post_clean(self):  # after the model's own checks: the service then saves
        super()._post_clean()
        if self.errors:
            return
        try:
            self.saved = self.save_through_service(self.cleaned_data)
        except ApplicationError as exc:
            service_error_place(self, exc)


class ServiceSaved:
    """For a ModelAdmin whose form is a ServiceForm: the admin's own save and delete are
    replaced by the service calls."""

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        form_class.request, form_class.model_admin = request, self
        return form_class

    def save_model(self, request, obj, form, change):
        saved = form.saved
        obj.pk, obj._state.adding = saved.pk, False

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            if self.has_delete_permission(request, obj):
                self.delete_model(request, obj)
