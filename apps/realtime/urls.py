"""WSGI-side routes of the live side. The stream itself (`/api/v1/stream/`, `/api/events`)
is served by the ASGI stream process (`tocsin.asgi`), not from here."""

from django.urls import path

from apps.realtime.api.views import StreamTicketApi
from apps.realtime.views import board

urlpatterns = [
    path("board/", board, name="board"),
    path("api/v1/stream/ticket/", StreamTicketApi.as_view(), name="stream-ticket"),
]
