"""Hook points other apps plug into (the audit log listens here), sent after commit."""

from django.dispatch import Signal

# kwargs: membership, created (bool), actor (user or None)
membership_changed = Signal()
