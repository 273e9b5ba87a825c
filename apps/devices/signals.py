"""Hook points higher apps plug into (the alert engine listens here).

Sent inside the transaction that makes the change, so what listens (a tamper alert) is
written atomically with it.
"""

from django.dispatch import Signal

# kwargs: device, reason (a short code, e.g. "refresh_credential_replayed"), summary (for people)
device_tampered = Signal()

# kwargs: device. Sent when a device is deleted: higher apps answer how many history rows
# of theirs (scans, samples, alerts) point at it, so it is archived rather than deleted.
device_history_requested = Signal()
