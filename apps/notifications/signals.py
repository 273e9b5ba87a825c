"""Hook point for higher apps (the real-time stream): a delivery changed state, after commit.

kwargs: notification_id, alert_id, tenant_id (ints), status (str), and `notification`: the
row as written, with its alert (and site) and channel attached, when the sender has it.
"""

from django.dispatch import Signal

notification_updated = Signal()
