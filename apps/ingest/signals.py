"""Hook point for higher apps (the real-time stream): a device's live state changed.

Sent after commit. kwargs: device_id (int), tenant_id (int), changes (list of str:
"online", "offline", "battery", "state").
"""

from django.dispatch import Signal

device_updated = Signal()
