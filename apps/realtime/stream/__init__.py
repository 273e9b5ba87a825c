"""The stream process's room: everything the Django-free SSE server runs.

Invariant: nothing in this package imports Django, DRF or any app's models (an
import-linter contract checks it), because the stream process lives on Redis alone: the
ORM under ASGI leaked connections (docs/architecture.md, "Measured"). People, roles and tenants are
resolved on the WSGI side (apps.realtime's services, publish, receivers and views) and
reach this process only as a ticket (`tickets`) and as events (`events`), the two wire
formats both sides share. `server` is the ASGI application; tocsin/asgi.py starts it.
"""
