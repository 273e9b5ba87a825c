"""Hook points other apps plug into (the audit log listens here).

Sent inside the transaction that makes the change, so what listens (the audit log) is
written atomically with it.
"""

from django.dispatch import Signal

# kwargs: membership, created (bool), actor (user or None)
membership_changed = Signal()

# kwargs: tenant. Higher apps give a new tenant what it must never lack (a catch-all policy).
tenant_created = Signal()
