"""The on-call admin pages, in two modules: people (contact methods, notification rules)
and schedules (rosters, overrides, maintenance windows)."""

from apps.oncall import admin_people, admin_schedule  # noqa: F401  (each registers its pages)
