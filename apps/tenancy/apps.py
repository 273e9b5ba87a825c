from django.apps import AppConfig


class TenancyConfig(AppConfig):
    """Tenants, sites, memberships, and the one mechanism that scopes everything by tenant."""

    name = "apps.tenancy"
    label = "tenancy"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from apps.tenancy import schema, token_versions  # noqa: F401  (schema extensions, session version receiver)
        from apps.tenancy.login_guard import on_login_failed

        user_login_failed.connect(on_login_failed, dispatch_uid="tenancy.count_login_failure")
