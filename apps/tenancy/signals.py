"""Signals other apps plug into (the audit log listens here).

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
# kwargs: site. Higher apps give a new site what it must never lack (ingest: its default rules).
site_created = Signal()

# kwargs: username (as typed; never to be stored), seconds (how long the lock lasts).
# Sent when failed logins lock an account, whether or not the account exists.
login_locked_out = Signal()

# kwargs: tenant, actor (user or None), action ("site.created", ...), target_type, target_id,
# details. Every configuration change a tenancy service makes; the audit log records it.
config_changed = Signal()

# kwargs: site, actor (user or None). Sent first while a site is deprovisioned, before
# site_deprovisioning: higher apps cut what connects the site's devices outside the device
# rows (a plant gateway's broker identity, then its certificate), while those rows still say
# what to cut.
site_disconnecting = Signal()

# kwargs: site, actor (user or None). Sent while a site is deprovisioned: higher apps revoke
# what lets the site's devices in (devices, setup tokens).
site_deprovisioning = Signal()

# kwargs: site. Higher apps answer how many history rows of theirs point at the site, so it is
# archived rather than deleted while any exist (and deleted by retention once none are left).
site_history_requested = Signal()
