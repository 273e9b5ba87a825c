"""Bootstraps a development or CI machine: PostgreSQL, Redis, then the processes.

Used by `make run` and `make test`; imports nothing from Django so it can run before
the database it prepares exists.
"""
