"""Tocsin device agent: enrols a field device and reports what it sees, durably.

Runs on Python 3.9+ with nothing from the server side: see ``README.md`` in this directory.
"""

__version__ = "0.1.0"
