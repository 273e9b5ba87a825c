"""Hook points other apps plug into (the audit log listens here).

Sent inside the transaction that makes the change, so what listens (the audit log) is
written atomically with it (a lockout has no transaction: it is a count in Redis).
"""

from django.dispatch import Signal

# kwargs: membership, created (bool), actor (user or None)
membership_changed = Signal()
# kwargs: membership (no longer saved), actor (user or None)
membership_removed = Signal()

# kwargs: tenant. Higher apps give a new tenant what it must never lack (a catch-all policy).
tenant_created = Signal()

# kwargs: username (as typed; never to be stored), seconds (how long the lock lasts).
# Sent when failed logins lock an account, whether or not the account exists.
login_locked_out = Signal()
