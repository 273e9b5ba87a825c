from rest_framework.permissions import BasePermission

from apps.devices.principals import DevicePrincipal


class IsDevice(BasePermission):
    """Only an enrolled, active device (checked by DeviceTokenAuthentication) gets in."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, DevicePrincipal)
