"""Settle a long-running process's heap once it has warmed up: what is alive then is moved
out of the garbage collector's reach.

Invariant: called at most once per process, after its first unit of work (a request, a
task, a batch) and never in the middle of one; what later work allocates is collected as
before, only the long-lived heap is no longer walked.

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
import threading

_settled = False
_lock = threading.Lock()


def settle_heap() -> None:
    """Collect once, then freeze what survived (idempotent per process)."""
    global _settled
    with _lock:
        if _settled:
            return
        gc.collect()
        gc.freeze()
        _settled = True


def heap_settled() -> bool:
    return _settled

