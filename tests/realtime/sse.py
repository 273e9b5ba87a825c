"""A small blocking Server-Sent Events client for tests: real HTTP against the stream process."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode


@dataclass
class Event:
    id: str | None
    type: str
    data: dict

    @property
    def subject_id(self) -> str | None:
        """The public id of the alert, device or delivery the event is about."""
        payload = self.data.get("data", {})
        for name in ("alert", "notification", "device"):
            if name in payload:
                return payload[name]["id"]
        return None


@dataclass
class SSEClient:
    host: str
    port: int
    ticket: str | None = None
    last_event_id: str | None = None
    path: str = "/api/v1/stream/"
    resume_in_query: bool = False
    comments: list[str] = field(default_factory=list)
    retry: int | None = None

    def open(self, timeout: float = 5) -> SSEClient:
        query = {}
        if self.ticket is not None:
            query["ticket"] = self.ticket
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id and self.resume_in_query:
            query["lastEventId"] = self.last_event_id
        elif self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        self._connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self._connection.request("GET", f"{self.path}?{urlencode(query)}" if query else self.path, headers=headers)
        self.response = self._connection.getresponse()
        self.status = self.response.status
        if self.status != 200:
            self.body = self.response.read()
        return self

    def next_event(self, timeout: float = 5) -> Event:
        """The next event, skipping comments (collected) and retry advice (kept)."""
        deadline = time.monotonic() + timeout
        fields: dict[str, str] = {}
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no event in time")
            self._connection.sock.settimeout(remaining)
            try:
                raw = self.response.readline()
            except TimeoutError as exc:
                raise TimeoutError("no event in time") from exc
            if not raw:
                raise ConnectionError("the stream ended")
            line = raw.decode().rstrip("\n")
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
            elif line.startswith("retry:"):
                self.retry = int(line.split(":", 1)[1])
            elif line:
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
            elif "data" in fields:
                return Event(id=fields.get("id"), type=fields.get("event", "message"), data=json.loads(fields["data"]))

    def events(self, count: int, timeout: float = 5) -> list[Event]:
        deadline = time.monotonic() + timeout
        return [self.next_event(timeout=max(deadline - time.monotonic(), 0.01)) for _ in range(count)]

    def close(self) -> None:
        self._connection.close()
