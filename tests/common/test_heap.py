"""Long-running processes settle their heap once warmed up: full collections stop walking
Django's long-lived objects (they were ~100 ms pauses at the tail of the MQTT bridge's
publish → committed, and in any request or task caught behind one)."""

from __future__ import annotations

import gc
import importlib.util
from types import SimpleNamespace

import pytest

from apps.common import heap
from tests.support.processes import ROOT


@pytest.fixture
def unsettled(monkeypatch):
    gc.unfreeze()
    monkeypatch.setattr(heap, "_settled_in", None)
    yield
    gc.unfreeze()


def test_settling_freezes_what_is_alive_and_leaves_new_objects_collectable(unsettled):
    before = gc.get_freeze_count()
    heap.settle_heap()
    frozen = gc.get_freeze_count()
    assert frozen > before and frozen > 10_000  # Django, the apps, pytest: all alive now

    class Cycle:
        pass

    first, second = Cycle(), Cycle()
    first.other, second.other = second, first
    del first, second
    assert gc.collect() >= 2  # a cycle made afterwards is still found
    # ...and the collection left the frozen heap frozen (a frozen object that dies meanwhile,
    # its last reference dropped, leaves it: the count may only shrink by a few).
    assert frozen - 100 < gc.get_freeze_count() <= frozen


def test_a_forked_process_settles_for_itself(unsettled):
    import os

    heap.settle_heap()
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: inherited the parent's settling, not its own
        os.write(writer, b"1" if not heap.heap_settled() and (heap.settle_heap() or heap.heap_settled()) else b"0")
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(reader, 1) == b"1"


def test_a_process_settles_once(unsettled):
    heap.settle_heap()
    frozen = gc.get_freeze_count()
    leftovers = [object() for _ in range(1000)]  # noqa: F841 (alive: would be frozen by a second settling)
    heap.settle_heap()
    assert heap.heap_settled() and gc.get_freeze_count() <= frozen  # nothing more was frozen


def test_a_gunicorn_worker_settles_after_its_first_answer(unsettled):
    spec = importlib.util.spec_from_file_location("tocsin_gunicorn_conf", ROOT / "docker" / "gunicorn.conf.py")
    config = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(config)
    assert not heap.heap_settled()
    config.post_request(SimpleNamespace(), SimpleNamespace(), {}, SimpleNamespace())
    assert heap.heap_settled() and gc.get_freeze_count() > 10_000


def test_a_worker_process_settles_after_its_first_task(unsettled):
    from workers.signals import note_clean_finish

    note_clean_finish(task=SimpleNamespace(request=SimpleNamespace(is_eager=True)))
    assert not heap.heap_settled()  # an eager task runs inside another process's work
    note_clean_finish(task=SimpleNamespace(request=SimpleNamespace(is_eager=False)))
    assert heap.heap_settled()


def test_a_worker_main_process_settles_before_its_pool_forks(unsettled):
    from celery.signals import worker_init

    from workers.signals import settle_main_process_heap

    assert settle_main_process_heap in [ref() for _, ref in worker_init.receivers]
    settle_main_process_heap(sender=None)
    assert heap.heap_settled()
