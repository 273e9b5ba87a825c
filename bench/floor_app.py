"""The floor for new alerts: a bare Django + DRF endpoint that inserts one row, nothing else.

    gunicorn --pythonpath bench floor_app:application     (started by bench/ingest.py --floor)

`POST /floor/` parses the JSON body with DRF, checks one field, inserts one row into
`bench_floor` with a persistent connection and answers 201: what any Django service pays per
request on this machine before it does anything of its own (no authentication, throttling,
audit, routing or publishing). `bench/ingest.py` drives it with the same clients and worker
shape as the real scenarios, in the same run, so a figure for new alerts can be read against it.
Not part of the product; it shares nothing with it but the database server.
"""

from __future__ import annotations

import os

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-floor-only",  # noqa: S106 (a bench process bound to 127.0.0.1)
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],  # sets Content-Length, as in any Django service
    DATABASES={"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": os.environ["FLOOR_DATABASE_NAME"],
        "USER": os.environ.get("FLOOR_DATABASE_USER", "postgres"), "HOST": "127.0.0.1",
        "PORT": os.environ.get("FLOOR_DATABASE_PORT", "5432"), "CONN_MAX_AGE": 60}},
    REST_FRAMEWORK={"DEFAULT_AUTHENTICATION_CLASSES": [], "DEFAULT_PERMISSION_CLASSES": [],
                    "UNAUTHENTICATED_USER": None},
    USE_TZ=True,
)
django.setup()

from django.db import connection  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402


class FloorInsert(APIView):
    def post(self, request):
        key = request.data.get("dedup_key") if isinstance(request.data, dict) else None
        if not isinstance(key, str):
            return Response({"error": "dedup_key required"}, status=400)
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_floor (key, body) VALUES (%s, %s::jsonb) RETURNING id",
                           [key, request.body.decode()])
            row_id = cursor.fetchone()[0]
        return Response({"id": row_id}, status=201)


def healthz(_request):
    from django.http import HttpResponse

    return HttpResponse("ok")


urlpatterns = [path("floor/", FloorInsert.as_view()), path("healthz", healthz)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
