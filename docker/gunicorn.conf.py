"""gunicorn settings shared by `make run` and the Docker image."""

from prometheus_client import multiprocess


def child_exit(server, worker):
    # A dead worker's metric files must stop counting as a live process's gauges.
    multiprocess.mark_process_dead(worker.pid)
