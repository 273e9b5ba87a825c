"""Where the notification engine (a higher app) hears about maintenance windows changing.

A handler runs inside the transaction of the change, so alerts a window now covers (or no
longer covers: ended early, shortened, deleted) are re-timed with the change or not at all.
"""

from __future__ import annotations

from collections.abc import Callable

WindowHandler = Callable[..., None]  # (*, tenant_id, site_id) -> None
_window_handlers: list[WindowHandler] = []


def register_window_handler(handler: WindowHandler) -> None:
    if handler not in _window_handlers:
        _window_handlers.append(handler)


def run_window_handlers(*, tenant_id: int, site_id: int) -> None:
    for handler in _window_handlers:
        handler(tenant_id=tenant_id, site_id=site_id)
