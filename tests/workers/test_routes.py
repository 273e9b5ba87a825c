"""Every registered Tocsin task is routed, named, acks late and has a time limit."""

from __future__ import annotations

import pytest

from workers.app import app
from workers.routes import QUEUE_NAMES, TASK_ROUTES


def _tocsin_tasks():
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_there_are_tasks_to_check():
    assert _tocsin_tasks(), "no task registered: the check below would prove nothing"


@pytest.mark.parametrize("name", sorted(_tocsin_tasks()))
def test_task_is_routed_to_a_known_queue(name):
    assert name in TASK_ROUTES, f"{name} has no route in workers/routes.py"
    assert TASK_ROUTES[name]["queue"] in QUEUE_NAMES


@pytest.mark.parametrize("name", sorted(_tocsin_tasks()))
def test_task_follows_the_house_rules(name):
    task = _tocsin_tasks()[name]
    assert task.acks_late is True
    assert task.time_limit and task.soft_time_limit and task.soft_time_limit < task.time_limit
    assert task.time_limit < app.conf.broker_transport_options["visibility_timeout"]


def test_routes_do_not_name_tasks_that_do_not_exist():
    assert set(TASK_ROUTES) <= set(_tocsin_tasks())


def test_house_decorator_refuses_an_unrouted_task():
    from workers.base import tocsin_task

    with pytest.raises(LookupError):
        tocsin_task(name="tocsin.nowhere.unrouted")
