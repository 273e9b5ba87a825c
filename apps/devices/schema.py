"""How device and API-key authentication appear in the OpenAPI schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.devices.authentication.DeviceTokenAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "A device access token from /devices/enroll/complete/ or /devices/token/."}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.devices.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Api-Key",
                "description": "tk_<prefix>_<secret>; also accepted as `Authorization: Bearer`."}
