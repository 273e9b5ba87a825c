"""Settle a long-running process's heap once it has warmed up: what is alive then is moved
out of the garbage collector's reach.

Invariant: settled at most once per process, before it takes work or after its first unit
of work (a request, a task, a batch), never in the middle of one; what later work
allocates is collected as before, only the long-lived heap is no longer walked. A process
forked from a settled one inherits its frozen heap and settles once more for itself
(cheaply: the collection then walks only what it made since the fork).

Why: a Django process holds hundreds of thousands of objects that live as long as it does
(apps, models, URL patterns, the imported modules). Every full collection walked them all:
~100-130 ms with everything in that process stopped, every few seconds under load, which was
the tail of the MQTT bridge's publish → committed and a pause in any request or task caught
behind it. Frozen objects are never walked again (CPython's `gc.freeze`, meant for exactly
this); they are also no longer written to by the collector, so pages shared with a forking
parent stay shared.
"""

from __future__ import annotations

import gc
import os
import threading

_settled_in: int | None = None  # the pid of the process that settled
_lock = threading.Lock()


def settle_heap() -> None:
    """Collect once, then freeze what survived (idempotent per process)."""
    global _settled_in
    with _lock:
        if _settled_in == os.getpid():
            return
        gc.collect()
        gc.freeze()
        _settled_in = os.getpid()


def heap_settled() -> bool:
    return _settled_in == os.getpid()

