"""A person's token version: every JWT (access and refresh) and every session carries it.

Invariant: a token or session whose version is not the person's current one is refused on
its very next use. Deactivating a member, or a password being set, bumps the version, so
nothing issued before works again: the access token (checked on every API request), the
refresh token (checked before a new pair is issued) and the browser session (checked by
`SessionTokenVersionMiddleware`). Tokens issued before versions existed carry none and
count as version 1, the version every person starts at.
"""

from __future__ import annotations

from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model, logout
from django.contrib.auth.signals import user_logged_in
from django.db.models import F
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from apps.tenancy.models import UserSecurity

CLAIM = "tv"
SESSION_KEY = "_tocsin_token_version"


def current_version(user) -> int:
    """The person's version; reads the row select_related by the callers below when it is there."""
    try:
        return user.security.token_version
    except UserSecurity.DoesNotExist:
        return 1


def token_version_bump(*, user) -> int:
    """Refuse every token and session issued so far. Call inside the transaction of the
    change that warrants it (deactivation, a new password)."""
    UserSecurity.objects.get_or_create(user=user)
    UserSecurity.objects.filter(user=user).update(token_version=F("token_version") + 1)
    if hasattr(user, "_state") and "security" in user._state.fields_cache:
        del user._state.fields_cache["security"]
    return UserSecurity.objects.filter(user=user).values_list("token_version", flat=True).get()


class VersionedTokenObtainPairSerializer(TokenObtainPairSerializer):
    """simplejwt's login serializer, stamping the person's version into the refresh token
    (the access token copies it, and so does every rotated refresh token)."""

    @classmethod
    def get_token(cls, user):
        token = super().get_token(user)
        token[CLAIM] = current_version(user)
        return token


class VersionedTokenRefreshSerializer(TokenRefreshSerializer):
    """Refuses a refresh token of an older version, or of a person no longer active."""

    def validate(self, attrs):
        refresh = RefreshToken(attrs["refresh"])
        user_id = refresh.payload.get(api_settings.USER_ID_CLAIM)
        user = (get_user_model().objects.select_related("security")
                .filter(**{api_settings.USER_ID_FIELD: user_id}).first())
        if user is None or not user.is_active or refresh.payload.get(CLAIM, 1) != current_version(user):
            raise InvalidToken("Token is no longer valid.")
        return super().validate(attrs)


class VersionedJWTAuthentication(JWTAuthentication):
    """simplejwt's bearer authentication, refusing tokens of an older version."""

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        user = (get_user_model().objects.select_related("security")
                .filter(**{api_settings.USER_ID_FIELD: user_id}).first())
        if user is None or not user.is_active:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if validated_token.get(CLAIM, 1) != current_version(user):
            raise AuthenticationFailed("Token is no longer valid.", code="token_not_valid")
        return user


def remember_session_version(sender, request, user, **kwargs) -> None:
    """A session records the version it was opened at (API logins have no session)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_KEY] = current_version(user)


user_logged_in.connect(remember_session_version, dispatch_uid="tocsin-session-token-version")


class SessionTokenVersionMiddleware:
    """Logs a browser session out once the person's version moved on (after auth middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and BACKEND_SESSION_KEY in session:
            user = request.user
            if user.is_authenticated and session.get(SESSION_KEY, 1) != current_version(user):
                logout(request)
        return self.get_response(request)
