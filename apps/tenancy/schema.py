"""How people's versioned JWTs appear in the OpenAPI schema: as simplejwt's own do."""

from drf_spectacular.contrib.rest_framework_simplejwt import (
    SimpleJWTScheme,
    TokenObtainPairSerializerExtension,
    TokenRefreshSerializerExtension,
)


class VersionedJWTScheme(SimpleJWTScheme):
    target_class = "apps.tenancy.token_versions.VersionedJWTAuthentication"


class VersionedTokenObtainPairSerializerExtension(TokenObtainPairSerializerExtension):
    target_class = "apps.tenancy.token_versions.VersionedTokenObtainPairSerializer"


class VersionedTokenRefreshSerializerExtension(TokenRefreshSerializerExtension):
    target_class = "apps.tenancy.token_versions.VersionedTokenRefreshSerializer"
