"""Where the notification engine (a higher app) hears about maintenance windows changing.

A hook runs inside the transaction of the change, so alerts a window now covers (or no
longer covers: ended early, shortened, deleted) are re-timed with the change or not at all.
"""

from __future__ import annotations

from collections.abc import Callable

WindowHook = Callable[..., None]  # (*, tenant_id, site_id) -> None
_window_hooks: list[WindowHook] = []


def register_window_hook(hook: WindowHook) -> None:
    if hook not in _window_hooks:
        _window_hooks.append(hook)


def run_window_hooks(*, tenant_id: int, site_id: int) -> None:
    for hook in _window_hooks:
        hook(tenant_id=tenant_id, site_id=site_id)
