"""Opaque public ids: what every exposed object is called in URLs and payloads.

Sequential integer keys leak how many tenants, devices and alerts exist and invite
enumeration; the public id is a short prefix that says what it names plus 80 random bits.
"""

from __future__ import annotations

import base64
import secrets

from django.db import models

PUBLIC_ID_RANDOM_BYTES = 10


def generate_public_id(prefix: str) -> str:
    token = base64.b32encode(secrets.token_bytes(PUBLIC_ID_RANDOM_BYTES)).decode().lower()
    return f"{prefix}_{token.rstrip('=')}"


class PublicIdField(models.CharField):
    """A unique, indexed, non-editable `<prefix>_<random>` id generated on insert."""

    def __init__(self, *args, prefix: str = "", **kwargs):
        self.prefix = prefix
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        kwargs["default"] = None
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        kwargs.pop("default", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if not value:
            value = generate_public_id(self.prefix)
            setattr(model_instance, self.attname, value)
        return value
