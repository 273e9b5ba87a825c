from django.apps import AppConfig


class TenancyConfig(AppConfig):
    """Tenants, sites, memberships, and the one mechanism that scopes everything by tenant."""

    name = "apps.tenancy"
    label = "tenancy"
