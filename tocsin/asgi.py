"""`uvicorn tocsin.asgi:application --port 8001 --no-access-log`: the stream process.

The project's two processes start here: `wsgi` serves Django (gunicorn), this serves the
Server-Sent Events stream (apps.realtime.stream), not Django views: the ORM under ASGI
leaked connections (docs/architecture.md, "Measured"), so no Django view is served over ASGI at all.
Django is set up for its settings and logging only; nothing here touches the ORM.
"""

import logging
import os

import django
from django.conf import settings

from apps.realtime.stream.server import StreamApplication, StreamConfig

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
django.setup(set_prefix=False)

# uvicorn's access log prints query strings, and stream tickets travel in them: silence it
# even if someone forgets --no-access-log (the application logs its own request lines).
_access_log = logging.getLogger("uvicorn.access")
_access_log.handlers.clear()
_access_log.propagate = False
# uvicorn's own lines (start-up, errors) go through Tocsin's JSON handler like every other.
_uvicorn_log = logging.getLogger("uvicorn")
_uvicorn_log.handlers.clear()
_uvicorn_log.propagate = True

application = StreamApplication(StreamConfig.from_settings(settings))
