"""Task modules, by job. Each task is thin: load ids, call a service in `apps/`."""

from workers.tasks import device_sweeps, housekeeping, iot, notify, reports  # noqa: F401
