"""The notifications admin, in two modules: channels (with sites' quiet hours and the
deliveries) and escalation policies (with their steps and the routing preview).

Every write goes through the same services as the API, so what the admin saves is
validated and audited exactly as an API call would be.
"""

from apps.notifications import admin_channels, admin_policies  # noqa: F401  (each registers its pages)
