"""The Tocsin Django project.

Named after the product rather than `platform/` (the design card's name) because a
top-level package called `platform` shadows Python's standard `platform` module.
Importing the Celery app here makes `shared_task` and `send_task` use it everywhere.
"""

from workers.app import app as celery_app

__all__ = ["celery_app"]
