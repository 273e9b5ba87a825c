"""gunicorn settings shared by `make run` and the Docker image.

Requests gunicorn refuses before Django sees them (a header over 8 KiB: 431, a request
line too long: 414, a malformed request: 400) get the API's JSON error shape instead of
gunicorn's HTML page. The request was not parsed, so its path is unknown: every such
answer is JSON. gunicorn has no hook for these pages; its workers call
`gunicorn.util.write_error`, which is replaced here, in the master, before workers fork.

Each worker settles its heap after its first answer (`apps/common/heap.py`): full garbage
collections stop walking Django's long-lived objects in the middle of later requests.
"""

import json
import os
import re

from gunicorn import util
from prometheus_client import multiprocess

from apps.common.heap import settle_heap


def _json_error(sock, status_int, reason, mesg):
    code = re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_") or "error"
    body = json.dumps({"error": {"code": code, "message": f"{reason}.", "fields": None}}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin1")
    util.write_nonblock(sock, head + body)


util.write_error = _json_error


def child_exit(server, worker):
    # A dead worker's metric files must stop counting as a live process's gauges (only in
    # multiprocess mode: without its directory there are no files, and the call would raise).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


def post_request(worker, req, environ, resp):
    # After the answer is written: once per worker, then a flag check.
    settle_heap()
