"""Hook points other apps plug into (the audit log listens here).

Sent inside the transaction that makes the change, so what listens (the audit log) is
written atomically with it.
"""

from django.dispatch import Signal

# kwargs: membership, created (bool), actor (user or None)
membership_changed = Signal()
# kwargs: membership (no longer saved), actor (user or None)
membership_removed = Signal()
