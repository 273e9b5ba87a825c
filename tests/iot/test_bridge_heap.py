"""The bridge settles its heap once warmed up: full collections stop walking Django's
long-lived objects (they were the ~100 ms pauses at the tail of publish → committed)."""

from __future__ import annotations

import gc

from apps.iot.bridge import settle_heap


def test_settling_freezes_what_is_alive_and_leaves_new_objects_collectable():
    gc.unfreeze()
    try:
        before = gc.get_freeze_count()
        settle_heap()
        frozen = gc.get_freeze_count()
        assert frozen > before and frozen > 10_000  # Django, the apps, pytest: all alive now

        class Cycle:
            pass

        first, second = Cycle(), Cycle()
        first.other, second.other = second, first
        del first, second
        assert gc.collect() >= 2  # a cycle made afterwards is still found
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
