"""A Microsoft Teams workflow ("Post to a channel when a webhook request is received") on
127.0.0.1: it takes a JSON POST carrying an Adaptive Card and answers 202 Accepted, as the
workflow's HTTP trigger does.

It checks the shape Teams needs to post the card (a message with an attachment of content
type ``application/vnd.microsoft.card.adaptive`` whose content is an AdaptiveCard with a
version and a body) and answers 400 otherwise. Recorded messages: {"path", "json", "card",
"query", "at"}. Failure modes: ``"status"`` (``status`` default 500, optional
``retry_after``), plus ``"timeout"`` and ``"disconnect"``.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.support.standins import Failure, Request, Response, _HttpStandIn, _retry_after_headers

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


class TeamsStandIn(_HttpStandIn):
    MODES = ("status",)

    def __init__(self) -> None:
        super().__init__()
        self.signature = secrets.token_urlsafe(16)

    def __repr__(self) -> str:
        return f"<TeamsStandIn at {self.port}>"

    @property
    def workflow_url(self) -> str:
        """The workflow's URL as Teams shows it: the signature rides in the query string."""
        return (f"{self.base_url}/workflows/0a1b2c3d/triggers/manual/paths/invoke"
                f"?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={self.signature}")

    def _handle(self, request: Request) -> Response:
        if request.method != "POST" or not request.path.startswith("/workflows/"):
            return Response(404, {"error": {"code": "NotFound", "message": "No workflow here."}})
        if request.query.get("sig", [""])[-1] != self.signature:
            return Response(401, {"error": {"code": "DirectApiAuthorizationRequired",
                                            "message": "The request must be authenticated."}})
        try:
            payload = request.json()
        except ValueError:
            return Response(400, {"error": {"code": "InvalidRequestContent", "message": "Not JSON."}})
        card = self._card(payload)
        if card is None:
            return Response(400, {"error": {"code": "InvalidTemplate", "message": "No Adaptive Card attachment."}})
        self._record({"path": request.path, "json": payload, "card": card,
                      "query": {k: v[-1] for k, v in request.query.items() if k != "sig"}})
        return Response(202, b"", headers={"x-ms-workflow-run-id": "0858" + secrets.token_hex(8)})

    @staticmethod
    def _card(payload: Any) -> dict | None:
        if not isinstance(payload, dict) or payload.get("type") != "message":
            return None
        for attachment in payload.get("attachments") or []:
            content = attachment.get("content") if isinstance(attachment, dict) else None
            if (attachment.get("contentType") == CARD_TYPE and isinstance(content, dict)
                    and content.get("type") == "AdaptiveCard" and content.get("version")
                    and isinstance(content.get("body"), list) and content["body"]):
                return content
        return None

    def _failure_response(self, failure: Failure, request: Request) -> Response:
        status = int(failure.kw.get("status", 500))
        return Response(status, {"error": {"code": "ServiceError", "message": "stand-in failure"}},
                        headers=_retry_after_headers(failure.kw))
